// Fails fast, with the fix, when npm runs us on a Node.js older than the one the project brings.
const [major] = process.versions.node.split(".").map(Number);
if ((major ?? 0) < 24) {
  console.error(
    `docswarm needs Node.js 24+, this is ${process.version}. Run 'npm ci' (it installs Node 24 into ` +
      "node_modules/.bin, which npm scripts use) or put Node 24 on PATH.",
  );
  process.exit(1);
}
