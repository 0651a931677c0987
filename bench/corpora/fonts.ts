// Fonts the realistic corpora embed: TrueType and OpenType (CFF) files from Debian packages, which
// scripts/debian-packages.sh installs when missing. Read once per process.
import { readFileSync } from "node:fs";

const TT = "/usr/share/fonts/truetype";
const OT = "/usr/share/fonts/opentype";

export const FONT_FILES = {
  dejavuSans: `${TT}/dejavu/DejaVuSans.ttf`,
  dejavuSansBold: `${TT}/dejavu/DejaVuSans-Bold.ttf`,
  dejavuSerif: `${TT}/dejavu/DejaVuSerif.ttf`,
  dejavuSerifItalic: `${TT}/dejavu/DejaVuSerif-Italic.ttf`,
  dejavuMono: `${TT}/dejavu/DejaVuSansMono.ttf`,
  dejavuCondensed: `${TT}/dejavu/DejaVuSansCondensed.ttf`,
  liberationSans: `${TT}/liberation/LiberationSans-Regular.ttf`,
  liberationSansBold: `${TT}/liberation/LiberationSans-Bold.ttf`,
  liberationSerif: `${TT}/liberation/LiberationSerif-Regular.ttf`,
  liberationSerifBold: `${TT}/liberation/LiberationSerif-Bold.ttf`,
  liberationMono: `${TT}/liberation/LiberationMono-Regular.ttf`,
  liberationNarrow: `${TT}/liberation/LiberationSansNarrow-Regular.ttf`,
  // OpenType (CFF outlines). @pdf-lib/fontkit's CFF subsetter fails on some glyph sets of these,
  // so they are embedded whole (as some producers do): the smaller faces only.
  freeSansBold: `${OT}/freefont/FreeSansBold.otf`,
  freeMonoBold: `${OT}/freefont/FreeMonoBold.otf`,
  freeSansBoldOblique: `${OT}/freefont/FreeSansBoldOblique.otf`,
  /** Japanese (JIS X 0208 and more): IPA Gothic. */
  ipaGothic: `${OT}/ipafont-gothic/ipag.ttf`,
  /** Simplified Chinese (GB 2312): AR PL SungtiL GB. */
  arphicSung: `${TT}/arphic-gbsn00lp/gbsn00lp.ttf`,
} as const;
export type FontName = keyof typeof FONT_FILES;

/** Latin TrueType fonts a document picks its faces from (embedded as subsets). */
export const LATIN_FONTS: FontName[] = Object.keys(FONT_FILES).filter(
  (f) => FONT_FILES[f as FontName].endsWith(".ttf") && f !== "ipaGothic" && f !== "arphicSung",
) as FontName[];
/** OpenType CFF faces, embedded whole. */
export const CFF_FONTS: FontName[] = ["freeSansBold", "freeMonoBold", "freeSansBoldOblique"];

const cache = new Map<FontName, Uint8Array>();

/** The font file's bytes; throws with the install command when the Debian package is missing. */
export function fontBytes(name: FontName): Uint8Array {
  let bytes = cache.get(name);
  if (!bytes) {
    try {
      bytes = new Uint8Array(readFileSync(FONT_FILES[name]));
    } catch {
      throw new Error(
        `font ${FONT_FILES[name]} is missing: run 'bash scripts/debian-packages.sh' as root (installs the Debian font packages)`,
      );
    }
    cache.set(name, bytes);
  }
  return bytes;
}
