// Builds the console into the directory given as the first argument: the
// page, its script and style from src/, and uPlot (the chart library) from
// node_modules. No bundler: the console is one small script with no imports,
// so copying is the whole build; the files are embedded into the server.
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node build.mjs OUT_DIR');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const uplot = join(here, 'node_modules', 'uplot', 'dist');
for (const [from, to] of [
  [join(uplot, 'uPlot.iife.min.js'), 'uPlot.iife.min.js'],
  [join(uplot, 'uPlot.min.css'), 'uPlot.min.css'],
  [join(here, 'src', 'app.js'), 'app.js'],
  [join(here, 'src', 'style.css'), 'style.css'],
]) {
  copyFileSync(from, join(out, to));
}
// The page names the chart library's version, so a report can say which one
// the console embeds.
const version = JSON.parse(readFileSync(join(here, 'node_modules', 'uplot', 'package.json'))).version;
const page = readFileSync(join(here, 'src', 'index.html'), 'utf8').replace('@UPLOT_VERSION@', version);
writeFileSync(join(out, 'index.html'), page);
