// Writes the sample PDFs shipped in samples/ (run once; the files are committed).
import { mkdir, writeFile } from "node:fs/promises";
import { densePages, makePdf } from "../test/support/pdf.ts";

await mkdir("samples/letters", { recursive: true });
const files: Array<[string, Uint8Array]> = [
  [
    "samples/annual-report.pdf",
    await makePdf({
      title: "Annual Report",
      author: "docswarm samples",
      pages: densePages("annual-report", 12, 1, 2400),
    }),
  ],
  [
    "samples/field-manual.pdf",
    await makePdf({
      title: "Field Manual",
      author: "docswarm samples",
      pages: densePages("field-manual", 40, 2, 1200),
    }),
  ],
  [
    "samples/letters/welcome.pdf",
    await makePdf({
      title: "Welcome",
      pages: [
        ["Welcome to docswarm.", "This letter has two pages.", "Each page is extracted by an agent."],
        ["Page two of the welcome letter.", "Results are one JSON file per document."],
      ],
    }),
  ],
];
for (const [path, bytes] of files) {
  await writeFile(path, bytes);
  console.log(`${path}  ${bytes.length} bytes`);
}
