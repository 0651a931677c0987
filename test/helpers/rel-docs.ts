// Small generated PDFs with known text for the reliability tests ("Page n of <docId>" first lines).
export { type GeneratedDoc, makeCorpus, makeDoc } from "../../scripts/lib/corpus.ts";
