// Builders of realistic documents: letters, invoices, AcroForm forms, reports with many embedded
// fonts and images, long manuals, Japanese and Chinese documents (embedded and non-embedded fonts).
// Each takes a seeded random source and a name, and gives the same bytes for the same arguments.
import fontkit from "@pdf-lib/fontkit";
import {
  beginText,
  endText,
  PDFDocument,
  type PDFFont,
  PDFHexString,
  PDFName,
  PDFString,
  StandardFonts,
  setFontAndSize,
  setTextMatrix,
  showText,
} from "pdf-lib";
import { CFF_FONTS, type FontName, fontBytes, LATIN_FONTS } from "./fonts.ts";
import { pngImage } from "./images.ts";
import { PAGE_SIZES, type PageSize, Writer } from "./layout.ts";
import {
  address,
  amount,
  chineseSentence,
  company,
  date,
  int,
  japaneseSentence,
  paragraph,
  person,
  pick,
  type Random,
  sentence,
} from "./text.ts";

export type Built = { bytes: Uint8Array; pages: number };

const PRODUCERS = [
  "Microsoft® Word for Microsoft 365",
  "LibreOffice 7.4",
  "Adobe PDF Library 17.0",
  "Skia/PDF m120",
  "macOS Version 13.4 (Build 22F66) Quartz PDFContext",
  "wkhtmltopdf 0.12.6",
  "GPL Ghostscript 10.00.0",
  "iText® 7.2.5 ©2000-2023 iText Group NV",
];

export async function startDoc(random: Random, title: string): Promise<PDFDocument> {
  const doc = await PDFDocument.create();
  doc.registerFontkit(fontkit);
  const at = new Date(Date.UTC(2019 + int(random, 0, 7), int(random, 0, 11), int(random, 1, 28)));
  doc.setCreationDate(at);
  doc.setModificationDate(at);
  doc.setProducer(pick(random, PRODUCERS));
  doc.setCreator(pick(random, ["Word", "Writer", "InDesign", "Chrome", "Pages", "docswarm corpus"]));
  doc.setTitle(title);
  doc.setAuthor(person(random));
  return doc;
}

/** Embeds a font (subset, as most producers do; sometimes whole, which makes larger files). */
export function embed(doc: PDFDocument, name: FontName, subset = true): Promise<PDFFont> {
  return doc.embedFont(fontBytes(name), { subset });
}

/** `n` distinct Latin faces, embedded; a few documents use the standard 14 fonts instead. */
async function faces(doc: PDFDocument, random: Random, n: number): Promise<PDFFont[]> {
  if (random() < 0.15) {
    const std = [
      StandardFonts.Helvetica,
      StandardFonts.HelveticaBold,
      StandardFonts.TimesRoman,
      StandardFonts.Courier,
    ];
    return Promise.all(std.slice(0, Math.max(2, n)).map((f) => doc.embedFont(f)));
  }
  const names = [...LATIN_FONTS].sort(() => random() - 0.5).slice(0, n);
  // One document in ten also carries a whole OpenType (CFF) font, as a heading face.
  if (random() < 0.1) names.splice(1, 0, pick(random, CFF_FONTS));
  return Promise.all(names.map((f) => embed(doc, f, !CFF_FONTS.includes(f) && random() > 0.1)));
}

function pageSize(random: Random): PageSize {
  return PAGE_SIZES[pick(random, ["letter", "a4", "a4", "a5", "legal"])]!;
}

async function save(doc: PDFDocument, random: Random, pages: number): Promise<Built> {
  return { bytes: await doc.save({ useObjectStreams: random() < 0.5 }), pages };
}

export async function letter(random: Random, name: string): Promise<Built> {
  const doc = await startDoc(random, `Letter ${name}`);
  const [body, head] = await faces(doc, random, 2);
  const w = new Writer(doc, { size: pageSize(random), margin: 60 });
  if (random() < 0.4) w.image(await doc.embedPng(pngImage(random, 120, 40)), 90);
  w.line(company(random), head!, 16);
  for (const l of address(random)) w.line(l, body!, 9);
  w.gap(18);
  w.line(date(random), body!, 10);
  w.gap(8);
  const to = person(random);
  for (const l of [to, ...address(random)]) w.line(l, body!, 10);
  w.gap(14);
  w.line(`Dear ${to},`, body!, 11);
  w.gap(6);
  for (let p = int(random, 3, 9); p > 0; p--) {
    w.paragraph(paragraph(random), body!, 11);
    w.gap(8);
  }
  w.line("Yours sincerely,", body!, 11);
  w.gap(24);
  w.line(person(random), head!, 11);
  return save(doc, random, w.pages);
}

export async function invoice(random: Random, name: string): Promise<Built> {
  const doc = await startDoc(random, `Invoice ${name}`);
  const [body, bold, mono] = await faces(doc, random, 3);
  const w = new Writer(doc, {
    size: pageSize(random),
    margin: 48,
    decorate: (page, n) =>
      page.drawText(`Invoice ${name} - page ${n}`, { x: 48, y: 24, size: 7, font: body! }),
  });
  if (random() < 0.5) w.image(await doc.embedPng(pngImage(random, 160, 60, 8)), 110);
  w.line(`INVOICE ${int(random, 10000, 99999)}`, bold!, 18);
  w.line(`${company(random)} - VAT GB${int(random, 100000000, 999999999)}`, body!, 9);
  w.line(`Date: ${date(random)}    Due: ${date(random)}`, body!, 9);
  w.gap(10);
  for (const l of [`Bill to: ${person(random)}`, ...address(random)]) w.line(l, body!, 10);
  w.gap(12);
  const width = w.width;
  const rows = [["Item", "Description", "Qty", "Unit price", "Amount"]];
  for (let i = int(random, 4, 40); i > 0; i--) {
    rows.push([
      `${int(random, 1000, 9999)}`,
      sentence(random).slice(0, 40),
      `${int(random, 1, 20)}`,
      amount(random, 400),
      amount(random, 4000),
    ]);
  }
  w.table(
    rows,
    mono!,
    bold!,
    8,
    [0.12, 0.5, 0.08, 0.15, 0.15].map((f) => f * width),
  );
  w.gap(12);
  w.line(`Total due: EUR ${amount(random, 50000)}`, bold!, 12);
  w.gap(8);
  w.paragraph(`Payment terms: ${paragraph(random, 2)}`, body!, 8);
  return save(doc, random, w.pages);
}

/** A form with AcroForm fields (text, check boxes, a dropdown), some of them filled in. */
export async function form(random: Random, name: string): Promise<Built> {
  const doc = await startDoc(random, `Form ${name}`);
  const [body, bold] = await faces(doc, random, 2);
  const w = new Writer(doc, { size: pageSize(random), margin: 50 });
  const f = doc.getForm();
  w.line(pick(random, ["Application form", "Registration", "Change of address", "Expense claim"]), bold!, 16);
  w.paragraph(paragraph(random, 3), body!, 9);
  w.gap(10);
  const labels = ["Full name", "Email", "Phone", "Street", "City", "Postcode", "Reference", "Amount", "Date"];
  for (const [i, label] of labels.slice(0, int(random, 5, labels.length)).entries()) {
    w.line(label, body!, 10);
    const field = f.createTextField(`${name}.field${i}`);
    if (random() < 0.7) field.setText(label === "Full name" ? person(random) : `${int(random, 100, 99999)}`);
    field.addToPage(w.page, { x: 180, y: w.y - 4, width: 240, height: 16, font: body! });
    w.gap(8);
  }
  for (let i = int(random, 1, 4); i > 0; i--) {
    w.line(sentence(random).slice(0, 70), body!, 9, 24);
    const box = f.createCheckBox(`${name}.check${i}`);
    if (random() < 0.5) box.check();
    box.addToPage(w.page, { x: 50, y: w.y - 2, width: 12, height: 12 });
  }
  w.gap(10);
  w.line("Department", body!, 10);
  const dd = f.createDropdown(`${name}.dept`);
  dd.addOptions(["Finance", "Operations", "Sales", "Research"]);
  dd.select(pick(random, ["Finance", "Operations", "Sales", "Research"]));
  dd.addToPage(w.page, { x: 180, y: w.y - 4, width: 160, height: 16, font: body! });
  w.gap(14);
  for (let p = int(random, 1, 6); p > 0; p--) w.paragraph(paragraph(random), body!, 8);
  f.updateFieldAppearances(body!);
  return save(doc, random, w.pages);
}

/** A report: many faces (4-8 embedded fonts), headings, tables and images. */
export async function report(random: Random, name: string): Promise<Built> {
  const doc = await startDoc(random, `Report ${name}`);
  const fonts = await faces(doc, random, int(random, 4, 8));
  const [body, head] = fonts;
  const w = new Writer(doc, {
    size: pageSize(random),
    margin: 54,
    decorate: (page, n) => page.drawText(`${name}  |  ${n}`, { x: 54, y: 28, size: 7, font: body! }),
  });
  const target = int(random, 1, 3);
  let section = 1;
  for (;;) {
    w.gap(6);
    w.line(`${section}. ${sentence(random).slice(0, 50)}`, head!, int(random, 12, 18));
    for (let p = int(random, 1, 3); p > 0; p--)
      w.paragraph(paragraph(random), pick(random, fonts), int(random, 8, 11));
    const r = random();
    if (r < 0.3)
      w.image(
        await doc.embedPng(pngImage(random, int(random, 80, 300), int(random, 60, 200))),
        int(random, 120, 300),
      );
    else if (r < 0.5) {
      const rows = [["Quarter", "Revenue", "Cost", "Margin"]];
      for (let i = 0; i < 4; i++)
        rows.push([`Q${i + 1}`, amount(random, 9e5), amount(random, 7e5), `${int(random, 2, 40)} %`]);
      w.table(
        rows,
        body!,
        head!,
        8,
        [0.25, 0.25, 0.25, 0.25].map((x) => x * w.width),
      );
    }
    section++;
    if (w.pages > target || (w.pages === target && w.y < 300)) break;
  }
  return save(doc, random, w.pages);
}

/** A long manual (≥ `minPages` pages): chapters, sections, code blocks, tables, figures. */
export async function manual(random: Random, name: string, minPages: number): Promise<Built> {
  const doc = await startDoc(random, `Manual ${name}`);
  const body = await embed(doc, pick(random, ["dejavuSerif", "liberationSerif"] as FontName[]));
  const head = await embed(doc, pick(random, ["dejavuSansBold", "liberationSansBold"] as FontName[]));
  const mono = await embed(doc, pick(random, ["dejavuMono", "liberationMono"] as FontName[]));
  const figures = await Promise.all(
    Array.from({ length: 6 }, () =>
      doc.embedPng(pngImage(random, int(random, 200, 480), int(random, 120, 320))),
    ),
  );
  const w = new Writer(doc, {
    size: PAGE_SIZES.a4!,
    margin: 56,
    decorate: (page, n) => {
      page.drawText(`${name} - user manual`, { x: 56, y: 810, size: 7, font: body });
      page.drawText(`${n}`, { x: 530, y: 28, size: 8, font: body });
    },
  });
  w.gap(200);
  w.line(`${name.toUpperCase()} USER MANUAL`, head, 24);
  w.line(`Version ${int(random, 1, 9)}.${int(random, 0, 20)}`, body, 12);
  w.newPage();
  for (let chapter = 1; w.pages < minPages; chapter++) {
    if (chapter > 1) w.newPage();
    w.line(`Chapter ${chapter}. ${sentence(random).slice(0, 40)}`, head, 18);
    w.gap(8);
    for (let s = 1; s <= int(random, 4, 9); s++) {
      w.line(`${chapter}.${s} ${sentence(random).slice(0, 50)}`, head, 12);
      for (let p = int(random, 2, 6); p > 0; p--) {
        w.paragraph(paragraph(random), body, 10);
        w.gap(4);
      }
      const r = random();
      if (r < 0.2) {
        for (let i = int(random, 3, 10); i > 0; i--)
          w.line(
            `  $ docswarm ${pick(random, ["process", "agent", "status"])} --${pick(random, ["json", "out", "agents"])} ${int(random, 1, 64)}`,
            mono,
            8,
          );
      } else if (r < 0.35) {
        const rows = [["Option", "Default", "Meaning"]];
        for (let i = int(random, 3, 14); i > 0; i--)
          rows.push([
            `--opt-${int(random, 1, 99)}`,
            `${int(random, 0, 1000)}`,
            sentence(random).slice(0, 48),
          ]);
        w.table(
          rows,
          body,
          head,
          8,
          [0.25, 0.15, 0.6].map((x) => x * w.width),
        );
      } else if (r < 0.45) {
        w.image(pick(random, figures), int(random, 200, 420));
        w.line(`Figure ${chapter}.${s}: ${sentence(random).slice(0, 60)}`, body, 8);
      }
    }
  }
  return save(doc, random, w.pages);
}

/** Japanese or Chinese text in an embedded CJK font (IPA Gothic, AR PL SungtiL GB). */
export async function cjkEmbedded(
  random: Random,
  name: string,
  lang: "ja" | "zh",
  pages = int(random, 1, 3),
): Promise<Built> {
  const doc = await startDoc(random, `${lang === "ja" ? "文書" : "文件"} ${name}`);
  const font = await embed(doc, lang === "ja" ? "ipaGothic" : "arphicSung");
  const latin = await embed(doc, "dejavuSans");
  const w = new Writer(doc, { size: PAGE_SIZES.a4!, margin: 56 });
  const say = lang === "ja" ? japaneseSentence : chineseSentence;
  w.line(`${name}`, latin, 9);
  do {
    let para = "";
    for (let s = int(random, 2, 6); s > 0; s--) para += say(random);
    w.paragraph(para, font, 11, { cjk: true });
    w.gap(6);
  } while (w.pages < pages || w.y > 300);
  return save(doc, random, w.pages);
}

const NON_EMBEDDED = {
  // The Acrobat Asian font pack names readers substitute; the text is UCS-2 through a predefined CMap.
  ja: { base: "KozMinPr6N-Regular", ordering: "Japan1", supplement: 6, cmap: "UniJIS-UCS2-H" },
  zh: { base: "STSong-Light", ordering: "GB1", supplement: 4, cmap: "UniGB-UCS2-H" },
} as const;

/** A Type0 font over a predefined UCS-2 CMap with no font file, registered in `doc`. */
function nonEmbeddedCjkFont(doc: PDFDocument, lang: "ja" | "zh") {
  const ctx = doc.context;
  const f = NON_EMBEDDED[lang];
  const descriptor = ctx.register(
    ctx.obj({
      Type: "FontDescriptor",
      FontName: f.base,
      Flags: 6,
      FontBBox: [-195, -272, 1110, 1075],
      ItalicAngle: 0,
      Ascent: 880,
      Descent: -120,
      CapHeight: 740,
      StemV: 80,
    }),
  );
  const cid = ctx.register(
    ctx.obj({
      Type: "Font",
      Subtype: "CIDFontType0",
      BaseFont: f.base,
      CIDSystemInfo: {
        Registry: PDFString.of("Adobe"),
        Ordering: PDFString.of(f.ordering),
        Supplement: f.supplement,
      },
      FontDescriptor: descriptor,
      DW: 1000,
    }),
  );
  return ctx.register(
    ctx.obj({
      Type: "Font",
      Subtype: "Type0",
      BaseFont: `${f.base}-${f.cmap}`,
      Encoding: f.cmap,
      DescendantFonts: [cid],
    }),
  );
}

/** A page of `lines` (BMP characters) in a non-embedded CJK font, 11 pt, from the top. */
export function addCmapPage(doc: PDFDocument, lang: "ja" | "zh", lines: readonly string[]): void {
  const page = doc.addPage(PAGE_SIZES.a4!);
  page.node.setFontDictionary(PDFName.of("FCJK"), nonEmbeddedCjkFont(doc, lang));
  const size = 11;
  const ops = [beginText(), setFontAndSize("FCJK", size)];
  lines.forEach((line, i) => {
    const hex = [...line].map((c) => c.codePointAt(0)!.toString(16).padStart(4, "0")).join("");
    ops.push(setTextMatrix(1, 0, 0, 1, 56, 780 - i * size * 1.5), showText(PDFHexString.of(hex)));
  });
  ops.push(endText());
  page.pushOperators(...ops);
}

/**
 * Japanese or Chinese text in a font that is not embedded: a Type0 font over a predefined CMap and
 * no font file, as many office and government PDFs are made. Readers need their CMap data (and
 * pdf.js its cMapUrl) to get any text out of these.
 */
export async function cjkNonEmbedded(
  random: Random,
  name: string,
  lang: "ja" | "zh",
  pages = int(random, 1, 3),
): Promise<Built> {
  const doc = await startDoc(random, `${name}`);
  const say = lang === "ja" ? japaneseSentence : chineseSentence;
  const perLine = 40;
  for (let p = 0; p < pages; p++) {
    let text = "";
    while (text.length < perLine * 43) text += say(random);
    addCmapPage(
      doc,
      lang,
      Array.from({ length: 43 }, (_, i) => text.slice(i * perLine, (i + 1) * perLine)),
    );
  }
  return save(doc, random, pages);
}

/** A Latin small document of one of the everyday kinds. */
export function smallDocument(random: Random, name: string): Promise<Built> {
  const r = random();
  if (r < 0.3) return letter(random, name);
  if (r < 0.55) return invoice(random, name);
  if (r < 0.75) return form(random, name);
  return report(random, name);
}
