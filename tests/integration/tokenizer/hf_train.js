// Train tokenizers with the HF library's own train() (the reverse direction: llmc must encode
// what HF trains exactly as HF does):  node hf_train.js MODULE_DIR KIND corpus.txt out.json
const [moduleDir, kind, corpus, out] = process.argv.slice(2);
const tk = require(moduleDir);
let t;
const llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
if (kind === 'gpt2') {
  t = new tk.Tokenizer(tk.BPE.empty());
  t.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
} else if (kind === 'llama3') {
  t = new tk.Tokenizer(tk.BPE.empty());
  t.setPreTokenizer(tk.sequencePreTokenizer([tk.splitPreTokenizer(llama3, 'isolated', false), tk.byteLevelPreTokenizer(false, false)]));
} else if (kind === 'bert') {
  t = new tk.Tokenizer(tk.WordPiece.empty());
  t.setNormalizer(tk.bertNormalizer());
  t.setPreTokenizer(tk.bertPreTokenizer());
  t.setDecoder(tk.wordPieceDecoder());
} else if (kind === 'metaspace') {
  t = new tk.Tokenizer(tk.BPE.empty());
  t.setPreTokenizer(tk.metaspacePreTokenizer());
  t.setDecoder(tk.metaspaceDecoder());
} else if (kind === 'whitespace') {
  t = new tk.Tokenizer(tk.BPE.empty());
  t.setNormalizer(tk.sequenceNormalizer([tk.nfkcNormalizer(), tk.lowercase(), tk.stripAccentsNormalizer()]));
  t.setPreTokenizer(tk.sequencePreTokenizer([tk.whitespacePreTokenizer(), tk.digitsPreTokenizer(true), tk.punctuationPreTokenizer()]));
}
t.train([corpus]);
t.save(out, true);
