#!/usr/bin/env node
// The Hugging Face tokenizers library (npm tokenizers@0.23.2: the Rust library behind a native
// Node-API module) as a test oracle and benchmark peer for llmc's tokenizers.
//
//   hf_tokenizers.js encode TOKENIZER_JSON [FILE|-] [--add-special-tokens] [--whole]
//       one line of comma-separated ids per input line (the format of `llmc tokenize`). Lines are
//       split at "\n" only; a final "\n" does not start another line; every line must be UTF-8.
//       --whole: the whole input as one text, newlines included (`llmc tokenize --whole`).
//       Special tokens (the post-processor's) are added only with --add-special-tokens, which is
//       `llmc tokenize`'s default.
//   hf_tokenizers.js decode TOKENIZER_JSON [FILE|-] [--json] [--skip-special-tokens]
//       one decoded text per input line of ids (--json: each as a JSON string, so any decoded
//       text, newlines included, stays on its line).
//   hf_tokenizers.js count TOKENIZER_JSON FILE
//       {"lines", "bytes", "tokens", "bytes_per_token"} as JSON (bytes: the lines' UTF-8 bytes,
//       newlines not counted).
//   hf_tokenizers.js bench TOKENIZER_JSON FILE [--batch N] [--min-seconds S] [--single]
//       encoding throughput on one thread: the whole file in encodeBatch calls of N lines
//       (default 1000; --single: one encode call per line), repeated until S seconds (default 3)
//       have passed; prints {"bytes", "tokens", "seconds", "mb_per_s", "cpu_seconds",
//       "mb_per_cpu_s", ...} as JSON (per run; CPU time is the whole process's user + system, the
//       figure to trust on a loaded machine). Loading the tokenizer and reading the file are not
//       timed.
//   hf_tokenizers.js train --type bpe|unigram|wordpiece --pre-tokenizer P --vocab-size N
//       [--special TOKEN ...] [--byte-fallback] [--full-alphabet] [--threads N] -o TOKENIZER_JSON FILES...
//       trains with the library's own trainer (Tokenizer.train) and writes tokenizer.json.
//       Prints {"trained", "vocab_size", "train_seconds"} as JSON on stderr.
//
// Threads: encode/decode/count/bench run on one thread unless --threads is given (the library's
// rayon pool and its TOKENIZERS_PARALLELISM switch are set before the module loads); train uses
// --threads (default: all cores).
//
// Training through the Node binding. Tokenizer.train(files) always uses the model's *default*
// trainer: BPE and WordPiece at vocab_size 30000, Unigram at 8000, no special tokens, no
// options. So:
//   * BPE / WordPiece at N <= 30000: trained at 30000, then cut to the first N ids and the merges
//     made before id N-1 existed. The trainer assigns ids in creation order (special tokens, the
//     sorted alphabet, then one id per new merge) and stops as soon as the vocabulary holds N
//     entries, so the cut is exactly what training at N produces. Special tokens (--special, and
//     the 256 <0xXX> byte tokens of --byte-fallback) are placed first, as the trainer does with
//     its special_tokens option, and counted in N; special tokens also become added tokens.
//     --full-alphabet (byte-level BPE) adds the byte-level characters the corpus lacked to the
//     alphabet, as the trainer's initial_alphabet=ByteLevel.alphabet() does, so that every byte
//     has a token (otherwise a byte never seen in training is silently dropped by the model); the
//     ids then match that option's up to the order of merges with equal counts.
//   * Unigram: only the default 8000 pieces; --special tokens are put in front (score 0) and the
//     first of them becomes unk_id. Any other --vocab-size is refused.
//   * Pre-tokenizers (and the normalizer and decoder that go with them) are set up as in the
//     reference tokenizers of each family: gpt2 (ByteLevel), llama3 (Llama-3 Split regex +
//     ByteLevel), metaspace (Metaspace, prepend "always"; with --byte-fallback the Llama-2 style
//     ByteFallback + Fuse decoder), whitespace (Whitespace), bert (BertNormalizer +
//     BertPreTokenizer + WordPiece decoder).
'use strict';

const fs = require('fs');
const path = require('path');

const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const DEFAULT_TRAINER_VOCAB = { bpe: 30000, wordpiece: 30000, unigram: 8000 };

function die(msg, code = 1) {
  process.stderr.write(`hf_tokenizers: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { _: [], special: [] };
  const flags = new Set(['--add-special-tokens', '--whole', '--json', '--skip-special-tokens', '--single', '--byte-fallback', '--full-alphabet']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (flags.has(a)) opts[a.slice(2)] = true;
    else if (a === '--special') {
      if (i + 1 >= argv.length) die('--special needs a token', 2);
      opts.special.push(argv[++i]);
    } else if (a.startsWith('--') || a === '-o') {
      if (i + 1 >= argv.length) die(`${a} needs a value`, 2);
      opts[a === '-o' ? 'out' : a.slice(2)] = argv[++i];
    } else opts._.push(a);
  }
  return opts;
}

function loadLibrary(threads) {
  // rayon reads RAYON_NUM_THREADS when its pool is first used; the library reads
  // TOKENIZERS_PARALLELISM on every batch call. Both are set before the module is loaded.
  if (threads !== undefined) {
    process.env.RAYON_NUM_THREADS = String(threads);
    if (Number(threads) === 1) process.env.TOKENIZERS_PARALLELISM = 'false';
  }
  const where = process.env.LLMC_HF_TOKENIZERS ||
    path.join(__dirname, '..', '..', '.deps', 'npm', 'node_modules', 'tokenizers');
  try {
    return require(where);
  } catch (e) {
    die(`cannot load the tokenizers module from ${where} (scripts/setup-oracles.sh installs it; ` +
        `LLMC_HF_TOKENIZERS names another copy): ${e.message}`, 3);
  }
}

function loadTokenizer(lib, file) {
  try {
    return lib.Tokenizer.fromFile(file);
  } catch (e) {
    die(`${file}: ${e.message}`);
  }
}

// Lines of a file (or stdin) as Buffers: split at \n only, a final \n ends the last line.
function readLines(file) {
  const data = fs.readFileSync(file === undefined || file === '-' ? 0 : file);
  const lines = [];
  let start = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, start);
    if (nl < 0) break;
    lines.push(data.subarray(start, nl));
    start = nl + 1;
  }
  if (start < data.length) lines.push(data.subarray(start));
  return { data, lines };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function textLines(file) {
  const { data, lines } = readLines(file);
  return {
    bytes: data.length,
    lines: lines.map((b, i) => {
      try {
        return utf8.decode(b);
      } catch (e) {
        die(`${file || '-'}:${i + 1}: not valid UTF-8 (the library takes text only)`);
      }
    }),
  };
}

// Write a long output in pieces (one process.stdout.write of hundreds of MB is slow and large).
function writeOut(lines) {
  const chunk = 4096;
  for (let i = 0; i < lines.length; i += chunk) {
    fs.writeSync(1, lines.slice(i, i + chunk).join('\n') + '\n');
  }
}

async function encodeAll(tok, lines, addSpecial, batch = 1000) {
  const out = [];
  for (let i = 0; i < lines.length; i += batch) {
    const encs = await tok.encodeBatch(lines.slice(i, i + batch), { addSpecialTokens: addSpecial });
    for (const e of encs) out.push(e.getIds());
  }
  return out;
}

async function cmdEncode(lib, o) {
  const tok = loadTokenizer(lib, o._[0]);
  if (o.whole) {
    const data = fs.readFileSync(o._[1] === undefined || o._[1] === '-' ? 0 : o._[1]);
    let text;
    try {
      text = utf8.decode(data);
    } catch (e) {
      die(`${o._[1] || '-'}: not valid UTF-8 (the library takes text only)`);
    }
    const e = await tok.encode(text, null, { addSpecialTokens: !!o['add-special-tokens'] });
    writeOut([e.getIds().join(',')]);
    return;
  }
  const { lines } = textLines(o._[1]);
  const ids = await encodeAll(tok, lines, !!o['add-special-tokens']);
  writeOut(ids.map((x) => x.join(',')));
}

async function cmdDecode(lib, o) {
  const tok = loadTokenizer(lib, o._[0]);
  const { lines } = readLines(o._[1]);
  const idLists = lines.map((b, i) => {
    const s = b.toString('latin1').trim();
    if (s === '') return [];
    const ids = s.split(',').map(Number);
    if (ids.some((x) => !Number.isInteger(x) || x < 0)) die(`${o._[1] || '-'}:${i + 1}: not a list of ids: ${s.slice(0, 80)}`);
    return ids;
  });
  const texts = await tok.decodeBatch(idLists, !!o['skip-special-tokens']);
  writeOut(texts.map((t) => (o.json ? JSON.stringify(t) : t)));
}

async function cmdCount(lib, o) {
  const tok = loadTokenizer(lib, o._[0]);
  const { lines } = textLines(o._[1]);
  const ids = await encodeAll(tok, lines, false);
  const bytes = lines.reduce((n, s) => n + Buffer.byteLength(s), 0);
  const tokens = ids.reduce((n, x) => n + x.length, 0);
  console.log(JSON.stringify({ lines: lines.length, bytes, tokens, bytes_per_token: bytes / tokens }));
}

async function cmdBench(lib, o) {
  const tok = loadTokenizer(lib, o._[0]);
  const { bytes, lines } = textLines(o._[1]);
  const batch = Number(o.batch || 1000);
  const minSeconds = Number(o['min-seconds'] || 3);
  const once = async () => {
    let tokens = 0;
    if (o.single) {
      for (const s of lines) tokens += (await tok.encode(s, null, { addSpecialTokens: false })).getLength();
    } else {
      for (let i = 0; i < lines.length; i += batch) {
        const encs = await tok.encodeBatch(lines.slice(i, i + batch), { addSpecialTokens: false });
        for (const e of encs) tokens += e.getLength();
      }
    }
    return tokens;
  };
  await encodeAll(tok, lines.slice(0, 2000), false); // warm-up (caches, pool threads, JIT)
  let runs = 0;
  let tokens = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage(); // the whole process: main thread and the libuv worker that encodes
  let seconds = 0;
  do {
    tokens = await once();
    runs++;
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (seconds < minSeconds);
  const cpu = process.cpuUsage(c0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(JSON.stringify({
    bytes, lines: lines.length, tokens, runs, seconds: seconds / runs, cpu_seconds: cpuSeconds / runs,
    mb_per_s: (bytes * runs) / 1e6 / seconds, mb_per_cpu_s: (bytes * runs) / 1e6 / cpuSeconds,
    mode: o.single ? 'encode per line' : `encodeBatch of ${batch} lines`,
    rayon_threads: process.env.RAYON_NUM_THREADS || 'default',
  }));
}

// ---- training ------------------------------------------------------------------------------

function skeleton(type, pre, byteFallback) {
  const byteLevel = (useRegex) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
  const metaspace = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true };
  const j = {
    version: '1.0', truncation: null, padding: null, added_tokens: [],
    normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, model: null,
  };
  if (pre === 'gpt2') {
    j.pre_tokenizer = byteLevel(true);
    j.decoder = byteLevel(true);
  } else if (pre === 'llama3') {
    j.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: LLAMA3_PATTERN }, behavior: 'Isolated', invert: false },
        byteLevel(false),
      ],
    };
    j.decoder = byteLevel(true);
  } else if (pre === 'metaspace') {
    j.pre_tokenizer = metaspace;
    // with byte fallback, Llama-2's decoder: the Metaspace decoder drops every ▁ of its first
    // token, which after Fuse would be the whole text
    j.decoder = byteFallback
      ? {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
          { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 },
        ],
      }
      : metaspace;
  } else if (pre === 'whitespace') {
    j.pre_tokenizer = { type: 'Whitespace' };
  } else if (pre === 'bert') {
    j.normalizer = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true };
    j.pre_tokenizer = { type: 'BertPreTokenizer' };
  } else {
    die(`unknown --pre-tokenizer '${pre}' (expected gpt2, llama3, metaspace, whitespace or bert)`, 2);
  }
  if (type === 'bpe') {
    j.model = {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: byteFallback, byte_fallback: byteFallback, ignore_merges: false, vocab: {}, merges: [],
    };
  } else if (type === 'wordpiece') {
    j.model = { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: {} };
    if (j.decoder === null) j.decoder = { type: 'WordPiece', prefix: '##', cleanup: true };
  } else if (type === 'unigram') {
    j.model = { type: 'Unigram', unk_id: null, vocab: [], byte_fallback: false };
  } else {
    die(`unknown --type '${type}' (expected bpe, unigram or wordpiece)`, 2);
  }
  return j;
}

const hex2 = (b) => b.toString(16).toUpperCase().padStart(2, '0');

// Cut a trained BPE/WordPiece vocabulary to its first `keep` ids (see the header), after adding
// the `alphabet` characters the corpus lacked (sorted in with the others, as the trainer's
// initial_alphabet option does), and put `prefix` tokens in front.
function cutVocab(model, keep, prefix, alphabet) {
  let byId = Object.entries(model.vocab).sort((a, b) => a[1] - b[1]).map(([tok, id], i) => {
    if (id !== i) die(`trained vocabulary ids are not 0..n-1 (id ${id} at ${i})`);
    return tok;
  });
  if (alphabet.length) {
    const isChar = (t) => [...t].length === 1;
    const nChars = byId.findIndex((t) => !isChar(t));
    const chars = new Set(byId.slice(0, nChars < 0 ? byId.length : nChars));
    if (byId.slice(nChars).some(isChar)) die('trained vocabulary has single characters after its first merge');
    for (const c of alphabet) chars.add(c);
    const sorted = [...chars].sort((a, b) => a.codePointAt(0) - b.codePointAt(0));
    byId = sorted.concat(nChars < 0 ? [] : byId.slice(nChars));
  }
  const cut = keep < byId.length;
  const kept = byId.slice(0, keep);
  const vocab = {};
  prefix.forEach((t, i) => { vocab[t] = i; });
  kept.forEach((t, i) => {
    if (t in vocab) die(`special token '${t}' is also a trained token`);
    vocab[t] = prefix.length + i;
  });
  model.vocab = vocab;
  if (model.type === 'BPE') {
    const last = kept[kept.length - 1];
    const merges = [];
    for (const m of model.merges) {
      const [a, b] = Array.isArray(m) ? m : m.split(' ');
      if (!((a + b) in vocab) || !(a in vocab) || !(b in vocab)) break;
      merges.push([a, b]);
      if (cut && a + b === last) break;
    }
    model.merges = merges;
  }
}

function cmdTrain(lib, o) {
  const type = o.type;
  const pre = o['pre-tokenizer'];
  if (!type || !pre || !o.out || o._.length === 0) {
    die('usage: train --type bpe|unigram|wordpiece --pre-tokenizer P --vocab-size N [--special T ...] ' +
        '[--byte-fallback] [--threads N] -o tokenizer.json FILES...', 2);
  }
  const byteFallback = !!o['byte-fallback'];
  if (byteFallback && !(type === 'bpe' && pre === 'metaspace')) die('--byte-fallback is for --type bpe --pre-tokenizer metaspace', 2);
  if (o['full-alphabet'] && !(type === 'bpe' && (pre === 'gpt2' || pre === 'llama3'))) {
    die('--full-alphabet is for byte-level BPE (--type bpe --pre-tokenizer gpt2|llama3)', 2);
  }
  const skel = skeleton(type, pre, byteFallback);
  const special = o.special.slice();
  if (type === 'wordpiece' && !special.includes('[UNK]')) special.unshift('[UNK]');
  if (byteFallback && !special.includes('<unk>')) special.unshift('<unk>');
  if (type === 'unigram' && special.length === 0) special.push('<unk>');
  const prefix = special.concat(byteFallback ? Array.from({ length: 256 }, (_, b) => `<0x${hex2(b)}>`) : []);
  const defaultVocab = DEFAULT_TRAINER_VOCAB[type];
  const vocabSize = Number(o['vocab-size'] || defaultVocab + (type === 'unigram' ? prefix.length : 0));
  if (type === 'unigram' && vocabSize !== defaultVocab + prefix.length) {
    die(`the Node binding trains Unigram only with its default trainer (${defaultVocab} pieces); with ` +
        `${prefix.length} special token(s) that is --vocab-size ${defaultVocab + prefix.length}, not ${vocabSize}`, 2);
  }
  if (type !== 'unigram' && (vocabSize - prefix.length > defaultVocab || vocabSize <= prefix.length)) {
    die(`--vocab-size ${vocabSize}: the Node binding's default ${type} trainer makes ${defaultVocab} tokens, so ` +
        `${prefix.length + 1}..${defaultVocab + prefix.length} can be reached by cutting (see the header)`, 2);
  }
  for (const f of o._) if (!fs.existsSync(f)) die(`${f}: no such file`, 4);

  const tok = lib.Tokenizer.fromString(JSON.stringify(skel));
  const t0 = process.hrtime.bigint();
  try { // (the trainer's progress bar writes to stdout; this command prints nothing else there)
    tok.train(o._);
  } catch (e) {
    die(`training failed: ${e.message}`);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const tmp = `${o.out}.tmp-${process.pid}`;
  tok.save(tmp, false);
  const j = JSON.parse(fs.readFileSync(tmp, 'utf8'));
  fs.unlinkSync(tmp);
  const trained = type === 'unigram' ? j.model.vocab.length : Object.keys(j.model.vocab).length;
  if (type === 'unigram') {
    const have = new Set(j.model.vocab.map(([p]) => p));
    for (const t of prefix) if (have.has(t)) die(`special token '${t}' is also a trained piece`);
    j.model.vocab = prefix.map((t) => [t, 0.0]).concat(j.model.vocab);
    j.model.unk_id = 0;
  } else {
    const alphabet = o['full-alphabet'] ? lib.byteLevelAlphabet() : [];
    cutVocab(j.model, vocabSize - prefix.length, prefix, alphabet);
    if (type === 'bpe' && special.includes('<unk>')) j.model.unk_token = '<unk>';
  }
  j.added_tokens = special.map((t) => ({
    id: type === 'unigram' ? j.model.vocab.findIndex(([p]) => p === t) : j.model.vocab[t],
    content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  fs.writeFileSync(tmp, JSON.stringify(j, null, 2));
  fs.renameSync(tmp, o.out);
  const size = type === 'unigram' ? j.model.vocab.length : Object.keys(j.model.vocab).length;
  process.stderr.write(JSON.stringify({ type, pre_tokenizer: pre, trained, vocab_size: size, train_seconds: seconds }) + '\n');
}

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  const o = parseArgs(rest);
  const commands = { encode: cmdEncode, decode: cmdDecode, count: cmdCount, bench: cmdBench, train: cmdTrain };
  if (!commands[cmd]) die('usage: hf_tokenizers.js encode|decode|count|bench|train ... (see the header)', 2);
  if (cmd !== 'train' && o._.length < 1) die(`${cmd}: which tokenizer.json?`, 2);
  const lib = loadLibrary(o.threads !== undefined ? o.threads : cmd === 'train' ? undefined : 1);
  await commands[cmd](lib, o);
}

main().catch((e) => die(e && e.stack ? e.stack : String(e)));
