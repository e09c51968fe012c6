// Reference outputs for whole lists: citeproc-js formats all items of items.json as ONE bibliography per style
// (sorted and disambiguated by the style), [[id, entry], …] in its order.
// usage (after `npm install citeproc` outside this repository): node make_expected_lists.js ITEMS.json LOCALES_DIR OUT.json STYLE.csl...
const fs = require("fs"), path = require("path"), CSL = require("citeproc");
const [itemsPath, localesDir, outPath, ...styles] = process.argv.slice(2);
const items = JSON.parse(fs.readFileSync(itemsPath, "utf8"));
const byId = Object.fromEntries(items.map((i) => [i.id, i]));
const out = {};
for (const stylePath of styles) {
  const sys = { retrieveLocale: (l) => { const f = path.join(localesDir, `locales-${l}.xml`); return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : false; },
                retrieveItem: (id) => byId[id] };
  const engine = new CSL.Engine(sys, fs.readFileSync(stylePath, "utf8"), "en-US");
  engine.setOutputFormat("text");
  engine.updateItems(items.map((i) => i.id));
  const [meta, bib] = engine.makeBibliography();
  out[path.basename(stylePath, ".csl")] = meta.entry_ids.map((ids, n) => [ids[0], bib[n].trim()]);
}
fs.writeFileSync(outPath, JSON.stringify(out, null, 1));
