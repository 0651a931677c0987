// The fidelity corpus: one small document per way real PDFs go wrong for extractors, each with the
// text it must give back. Built in memory by the tests and by `npm run bench` (fidelity figure);
// the two encrypted ones are small committed files made with qpdf (test/fixtures/README.md).
import { readFileSync } from "node:fs";
import type { WarningCode } from "../../schemas/index.ts";
import { rng } from "../../test/support/pdf.ts";
import { addCmapPage, embed, startDoc } from "./documents.ts";
import type { FontName } from "./fonts.ts";
import { chineseSentence, japaneseSentence, sentence } from "./text.ts";

export type FidelityDoc = {
  name: string;
  bytes: Uint8Array;
  /** Lines that must each appear in the text (whitespace-insensitive, NFC; RTL lines in either order). */
  expected: string[];
  rtl?: boolean;
  password?: string;
  /** Warnings the result must carry. */
  warnings?: WarningCode[];
  /** Pages that cannot be read (their entries carry an error). */
  brokenPages?: number[];
};

const fixture = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url)));

/** A document of `lines` per page in one embedded font. */
async function linesDoc(name: string, font: FontName, pages: string[][]): Promise<Uint8Array> {
  const doc = await startDoc(rng(7), name);
  const f = await embed(doc, font);
  for (const lines of pages) {
    const page = doc.addPage([595.28, 841.89]);
    lines.forEach((line, i) => {
      page.drawText(line, { x: 56, y: 780 - i * 18, size: 12, font: f });
    });
  }
  return doc.save({ useObjectStreams: false });
}

function lines(say: (r: () => number) => string, n: number, seed: number): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => say(r));
}

const latin = (seed: number) => lines((r) => sentence(r).slice(0, 80), 12, seed);

const latin1 = (s: Uint8Array) => Buffer.from(s).toString("latin1");
const bytesOf = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

export async function fidelityCorpus(): Promise<FidelityDoc[]> {
  const docs: FidelityDoc[] = [];
  const ja = lines(japaneseSentence, 10, 1).map((l) => l.slice(0, 38));
  const zh = lines(chineseSentence, 10, 2).map((l) => l.slice(0, 38));
  docs.push({ name: "ja-embedded", bytes: await linesDoc("ja-embedded", "ipaGothic", [ja]), expected: ja });
  docs.push({ name: "zh-embedded", bytes: await linesDoc("zh-embedded", "arphicSung", [zh]), expected: zh });
  for (const [lang, text] of [
    ["ja", ja],
    ["zh", zh],
  ] as const) {
    const doc = await startDoc(rng(3), `${lang}-cmap`);
    addCmapPage(doc, lang, text);
    docs.push({ name: `${lang}-cmap`, bytes: await doc.save(), expected: text });
  }
  const he = ["שלום עולם, זהו מסמך בדיקה", "המסמך נקרא משמאל לימין"];
  const ar = ["مرحبا بالعالم، هذا مستند اختبار", "النص العربي من اليمين إلى اليسار"];
  docs.push({
    name: "rtl",
    bytes: await linesDoc("rtl", "dejavuSans", [[...he, ...ar]]),
    expected: [...he, ...ar],
    rtl: true,
  });
  // Combining marks written decomposed (NFD), as some producers do; Greek and Cyrillic beside them.
  const combining = [
    "Tiếng Việt có dấu: Hà Nội, Huế, Đà Nẵng".normalize("NFD"),
    "Crème brûlée, naïve café, Ångström, Øresund",
    "Ελληνικά: καλημέρα κόσμε; Русский: добрый день".normalize("NFD"),
  ];
  docs.push({
    name: "combining",
    bytes: await linesDoc("combining", "dejavuSerif", [combining]),
    expected: combining.map((l) => l.normalize("NFC")),
  });
  const plainPages = [latin(11), latin(12), latin(13)];
  const plain = await linesDoc("plain", "liberationSans", plainPages);
  const all = plainPages.flat();
  docs.push({
    name: "no-eof",
    bytes: bytesOf(latin1(plain).replace(/%%EOF\s*$/, "")),
    expected: all,
    warnings: ["PDF_NO_EOF"],
  });
  docs.push({
    name: "leading-junk",
    bytes: bytesOf(`From: scanner@example.com\r\nContent-Type: application/pdf\r\n\r\n${latin1(plain)}`),
    expected: all,
    warnings: ["PDF_LEADING_JUNK"],
  });
  docs.push({
    name: "no-header",
    bytes: bytesOf(latin1(plain).replace(/^%PDF-1\.\d\r?\n/, "")),
    expected: all,
    warnings: ["PDF_NO_HEADER"],
  });
  // Page 2's dictionary replaced by a number: that page is unreadable, pages 1 and 3 are not.
  let seen = 0;
  const broken = latin1(plain).replace(/(\d+ 0 obj\n)<<\n\/Type \/Page\n[\s\S]*?\n>>\nendobj/g, (m, head) =>
    ++seen === 2 ? `${head}42\nendobj` : m,
  );
  docs.push({
    name: "broken-page",
    bytes: bytesOf(broken),
    expected: [...plainPages[0]!, ...plainPages[2]!],
    warnings: ["PDF_PAGE_FAILED"],
    brokenPages: [2],
  });
  docs.push({
    name: "empty-password",
    bytes: fixture("empty-password.pdf"),
    expected: ["Page 1 of empty-password-fixture"],
  });
  docs.push({
    name: "password",
    bytes: fixture("encrypted.pdf"),
    expected: ["Page 1 of encrypted-fixture"],
    password: "user-pw",
  });
  return docs;
}

const squash = (s: string) => s.normalize("NFC").replace(/\s+/g, "");

/** The expected lines missing from `text` (RTL lines may come back in visual order). */
export function missingLines(doc: FidelityDoc, text: string): string[] {
  const got = squash(text);
  return doc.expected.filter((line) => {
    const want = squash(line);
    return !(got.includes(want) || (doc.rtl && got.includes([...want].reverse().join(""))));
  });
}
