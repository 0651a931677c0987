// A small flowing-text writer over pdf-lib: lines, wrapped paragraphs, tables and images that start
// a new page when the current one is full, with a header/footer callback per page.
import { type PDFDocument, type PDFFont, type PDFImage, type PDFPage, rgb } from "pdf-lib";

export type PageSize = [number, number];
export const PAGE_SIZES: Record<string, PageSize> = {
  letter: [612, 792],
  a4: [595.28, 841.89],
  a5: [419.53, 595.28],
  legal: [612, 1008],
};

export type WriterOptions = {
  size: PageSize;
  margin: number;
  /** Draws a page's header and footer; `n` is the 1-based page number. */
  decorate?: (page: PDFPage, n: number) => void;
};

export class Writer {
  readonly doc: PDFDocument;
  readonly options: WriterOptions;
  page!: PDFPage;
  y = 0;
  pages = 0;
  readonly #widths = new Map<PDFFont, Map<string, number>>();

  constructor(doc: PDFDocument, options: WriterOptions) {
    this.doc = doc;
    this.options = options;
    this.newPage();
  }

  get width(): number {
    return this.options.size[0] - 2 * this.options.margin;
  }

  newPage(): void {
    this.page = this.doc.addPage(this.options.size);
    this.pages++;
    this.y = this.options.size[1] - this.options.margin;
    this.options.decorate?.(this.page, this.pages);
  }

  /** Starts a new page unless `height` points still fit above the bottom margin. */
  ensure(height: number): void {
    if (this.y - height < this.options.margin) this.newPage();
  }

  gap(height: number): void {
    this.y -= height;
  }

  /** Width of `s` (measured once per font and string: fontkit layout is not free). */
  measure(s: string, font: PDFFont, size: number): number {
    let m = this.#widths.get(font);
    if (!m) {
      m = new Map();
      this.#widths.set(font, m);
    }
    let w = m.get(s);
    if (w === undefined) {
      w = font.widthOfTextAtSize(s, 1);
      m.set(s, w);
    }
    return w * size;
  }

  line(text: string, font: PDFFont, size: number, x = 0, color = rgb(0, 0, 0)): void {
    this.ensure(size * 1.3);
    this.y -= size * 1.3;
    if (text) this.page.drawText(text, { x: this.options.margin + x, y: this.y, size, font, color });
  }

  /** Wraps at spaces, or (cjk) at any character; returns the lines drawn. */
  paragraph(
    text: string,
    font: PDFFont,
    size: number,
    opts: { indent?: number; cjk?: boolean } = {},
  ): number {
    const indent = opts.indent ?? 0;
    const room = this.width - indent;
    const units = opts.cjk ? [...text] : text.split(" ");
    const sep = opts.cjk ? "" : " ";
    // Words are measured one at a time (cached), not the growing line: fontkit lays out every string.
    const sepWidth = sep ? this.measure(sep, font, size) : 0;
    let line = "";
    let width = 0;
    let lines = 0;
    for (const u of units) {
      const w = this.measure(u, font, size);
      if (line && width + sepWidth + w > room) {
        this.line(line, font, size, indent);
        lines++;
        line = u;
        width = w;
      } else {
        width += line ? sepWidth + w : w;
        line = line ? `${line}${sep}${u}` : u;
      }
    }
    if (line) {
      this.line(line, font, size, indent);
      lines++;
    }
    return lines;
  }

  /** A ruled table; the first row is the header (bold). */
  table(rows: string[][], font: PDFFont, bold: PDFFont, size: number, widths: number[]): void {
    const h = size * 1.6;
    const x0 = this.options.margin;
    for (const [i, row] of rows.entries()) {
      this.ensure(h);
      const top = this.y;
      this.y -= h;
      let x = x0;
      row.forEach((cell, c) => {
        const w = widths[c]!;
        this.page.drawRectangle({
          x,
          y: this.y,
          width: w,
          height: h,
          borderWidth: 0.5,
          borderColor: rgb(0.5, 0.5, 0.5),
        });
        const f = i === 0 ? bold : font;
        let s = cell;
        while (s.length > 1 && this.measure(s, f, size) > w - 6) s = s.slice(0, -1);
        this.page.drawText(s, { x: x + 3, y: top - size * 1.15, size, font: f });
        x += w;
      });
    }
  }

  image(img: PDFImage, width: number): void {
    const height = (img.height / img.width) * width;
    this.ensure(height + 4);
    this.y -= height;
    this.page.drawImage(img, { x: this.options.margin, y: this.y, width, height });
    this.y -= 4;
  }
}
