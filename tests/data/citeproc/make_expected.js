// Reference outputs: citeproc-js (the processor Zotero and Mendeley use) formats every item of items.json in
// every style given, with the CSL locales that citeproc-py ships (so both processors read the same terms).
// usage: node make_expected.js ITEMS.json LOCALES_DIR OUT.json STYLE.csl...
const fs = require("fs");
const path = require("path");
const CSL = require("citeproc");
const [itemsPath, localesDir, outPath, ...styles] = process.argv.slice(2);
const items = JSON.parse(fs.readFileSync(itemsPath, "utf8"));
const byId = Object.fromEntries(items.map((i) => [i.id, i]));
const out = {};
for (const stylePath of styles) {
  const sys = {
    retrieveLocale: (lang) => {
      const f = path.join(localesDir, `locales-${lang}.xml`);
      return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : false;
    },
    retrieveItem: (id) => byId[id],
  };
  const engine = new CSL.Engine(sys, fs.readFileSync(stylePath, "utf8"), "en-US");
  engine.setOutputFormat("text");
  const entries = {};
  for (const item of items) {  // one item at a time: each reference on its own, as refman cite prints it
    engine.updateItems([item.id]);
    const [meta, bib] = engine.makeBibliography();
    entries[item.id] = bib.map((s) => s.trim()).join("\n");
  }
  out[path.basename(stylePath, ".csl")] = entries;
}
fs.writeFileSync(outPath, JSON.stringify(out, null, 1) + "\n");
