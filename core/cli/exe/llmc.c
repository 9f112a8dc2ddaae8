/* The llmc program: the command is libllmc's (llmc_main in llmc/llmc.h). */
#include "llmc/llmc.h"

int main(int argc, char **argv) { return llmc_main(argc, argv); }
