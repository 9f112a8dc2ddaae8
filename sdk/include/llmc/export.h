/* llmc — symbol visibility for the public API.
 * libllmc is built with -fvisibility=hidden; only LLMC_API symbols are exported. */
#ifndef LLMC_EXPORT_H
#define LLMC_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define LLMC_API __attribute__((visibility("default")))
#define LLMC_PRINTF(fmt_idx, first_arg) __attribute__((format(printf, fmt_idx, first_arg)))
#else
#define LLMC_API
#define LLMC_PRINTF(fmt_idx, first_arg)
#endif

/* Plugins export their entry symbol with this. */
#define LLMC_PLUGIN_EXPORT LLMC_API

#endif
