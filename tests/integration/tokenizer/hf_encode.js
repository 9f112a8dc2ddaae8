// The HF tokenizers library (npm tokenizers, the oracle) on a list of texts:
//   node hf_encode.js MODULE_DIR tokenizer.json texts.json out.jsonl [decode]
// writes one JSON line per text: {"ids": [...]} (+ "text": decode(ids, false) with `decode`).
const [moduleDir, tokFile, textsFile, outFile, decode] = process.argv.slice(2);
const { Tokenizer } = require(moduleDir);
const fs = require('fs');
(async () => {
  const t = Tokenizer.fromFile(tokFile);
  const texts = JSON.parse(fs.readFileSync(textsFile, 'utf8'));
  const out = fs.openSync(outFile, 'w');
  for (let i = 0; i < texts.length; i += 500) {
    const encs = await t.encodeBatch(texts.slice(i, i + 500), { addSpecialTokens: true });
    let s = '';
    for (const e of encs) {
      const r = { ids: e.getIds() };
      if (decode) r.text = await t.decode(r.ids, false);
      s += JSON.stringify(r) + '\n';
    }
    fs.writeSync(out, s);
  }
  fs.closeSync(out);
})().catch((e) => { console.error(String(e)); process.exit(1); });
