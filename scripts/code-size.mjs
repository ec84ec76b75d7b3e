// The shape of the source, for before/after comparisons of a restructure: the largest files and the
// longest functions (lines from signature to closing brace), over the product's folders (no tests).
// `node scripts/code-size.mjs [--top N] [--json]`
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const args = process.argv.slice(2);
const top = Number(args[args.indexOf('--top') + 1]) || 10;
const json = args.includes('--json');
const FOLDERS = ['shared', 'platform', 'agent', 'main', 'renderer', 'lab'];

const files = execFileSync('git', ['ls-files', ...FOLDERS], { encoding: 'utf8' })
  .split('\n')
  .filter((f) => /\.(ts|tsx)$/.test(f) && !f.endsWith('.d.ts'));

const sizes = [];
const functions = [];
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  sizes.push({ file, lines: text.split('\n').length });
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos) => source.getLineAndCharacterOfPosition(pos).line;
  const visit = (node) => {
    const isFunction =
      ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && ts.isBlock(node.body));
    if (isFunction && node.body) {
      const lines = lineOf(node.end) - lineOf(node.getStart(source)) + 1;
      const name =
        node.name?.getText(source) ??
        (ts.isVariableDeclaration(node.parent) ? node.parent.name.getText(source) : '(anonymous)');
      functions.push({ file, name, line: lineOf(node.getStart(source)) + 1, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
sizes.sort((a, b) => b.lines - a.lines);
functions.sort((a, b) => b.lines - a.lines);
const total = sizes.reduce((n, s) => n + s.lines, 0);
const result = {
  files: files.length,
  totalLines: total,
  largestFiles: sizes.slice(0, top),
  longestFunctions: functions.slice(0, top),
  functionsOver80Lines: functions.filter((f) => f.lines > 80).length,
};
if (json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  process.stdout.write(`${result.files} files, ${total} lines; ${result.functionsOver80Lines} functions over 80 lines\n`);
  process.stdout.write('largest files:\n');
  for (const s of result.largestFiles) process.stdout.write(`  ${String(s.lines).padStart(5)}  ${s.file}\n`);
  process.stdout.write('longest functions:\n');
  for (const f of result.longestFunctions)
    process.stdout.write(`  ${String(f.lines).padStart(5)}  ${f.file}:${f.line} ${f.name}\n`);
}
