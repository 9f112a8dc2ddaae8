# No symbol table: the host cannot learn the descriptor array's size from a symbol.
target_link_options(${PLUGIN_TARGET} PRIVATE -s)
