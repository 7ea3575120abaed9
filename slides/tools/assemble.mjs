// Assembles the deck: src/*.md in name order, one slide break between files, and
// every diagram line `![alt](../diagrams/NAME.svg)` replaced by the SVG itself, so
// that the built HTML carries its pictures inside (no file next to it, no network).
//
//     node tools/assemble.mjs OUT.md
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const slides = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(slides, "src");
const diagram = /^!\[([^\]]*)\]\(\.\.\/diagrams\/([A-Za-z0-9_-]+\.svg)\)\s*$/;

function inline(line) {
  const m = diagram.exec(line);
  if (!m) return line;
  const svg = readFileSync(join(slides, "diagrams", m[2]), "utf8")
    .replace(/<\?xml[^>]*>\s*/, "")
    .split("\n")
    .filter((l) => l.trim() !== "") // a blank line would end the HTML block in Markdown
    .join("\n");
  const alt = m[1].replace(/"/g, "&quot;");
  return `<div class="diagram" role="img" aria-label="${alt}">\n${svg}\n</div>`;
}

const parts = readdirSync(src)
  .filter((name) => name.endsWith(".md"))
  .sort()
  .map((name) => readFileSync(join(src, name), "utf8").trim().split("\n").map(inline).join("\n"));
writeFileSync(process.argv[2], parts.join("\n\n---\n\n") + "\n");
