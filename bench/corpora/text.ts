// Seeded text for the realistic corpora: English business prose, names, addresses and amounts,
// Japanese and Chinese sentences. Everything comes from a random source, so the same seed gives the
// same documents.
export type Random = () => number;

export function pick<T>(random: Random, xs: readonly T[]): T {
  return xs[Math.floor(random() * xs.length)]!;
}

export function int(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

const NOUNS = (
  "account agreement amount analysis application approval assessment budget contract customer " +
  "delivery department design document equipment estimate facility invoice issue maintenance " +
  "management meeting method office order payment period policy procedure process product " +
  "project proposal quality record report request requirement review schedule service shipment " +
  "specification staff statement supplier system team term update value version warranty"
).split(" ");
const VERBS = (
  "approve check confirm consider deliver describe ensure include indicate maintain provide " +
  "receive reduce replace report require review schedule submit support update verify"
).split(" ");
const ADJECTIVES = (
  "annual available current detailed final following general important initial monthly new " +
  "overall previous quarterly recent regular relevant required revised separate standard total"
).split(" ");
const LINKS = "and but so while because although however therefore meanwhile moreover".split(" ");

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** One sentence of plausible business English, 8-24 words. */
export function sentence(random: Random): string {
  const parts: string[] = [];
  const clauses = int(random, 1, 2);
  for (let c = 0; c < clauses; c++) {
    if (c > 0) parts.push(`${pick(random, LINKS)}`);
    parts.push(
      `the ${pick(random, ADJECTIVES)} ${pick(random, NOUNS)}`,
      random() < 0.5 ? "will" : pick(random, ["should", "must", "may", "can"]),
      pick(random, VERBS),
      `the ${pick(random, NOUNS)}`,
    );
    if (random() < 0.6)
      parts.push(pick(random, ["for", "of", "with", "under", "before"]), `the ${pick(random, NOUNS)}`);
    if (random() < 0.2) parts.push(`in ${int(random, 2019, 2026)}`);
  }
  return `${capitalise(parts.join(" "))}${random() < 0.9 ? "." : "?"}`;
}

export function paragraph(random: Random, sentences = int(random, 3, 7)): string {
  return Array.from({ length: sentences }, () => sentence(random)).join(" ");
}

const FIRST =
  "Anna Ben Chloe David Elena Farid Grace Hiro Ines Jonas Kavya Luca Maya Noah Olga Pierre Rosa Sam Tomas Yuki".split(
    " ",
  );
const LAST =
  "Alvarez Becker Chen Dubois Eriksen Fischer Garcia Hansen Ivanova Jensen Kowalski Larsen Moreau Novak Okafor Petrov Rossi Schmidt Tanaka Weber".split(
    " ",
  );
const STREETS =
  "Harbour Road|Mill Lane|Station Street|King's Avenue|Park Terrace|Bridge Street|Elm Close|Market Square".split(
    "|",
  );
const CITIES =
  "Bristol BS1 4DJ|Lyon 69002|Hamburg 20095|Utrecht 3511 AB|Porto 4000-322|Aarhus 8000|Leeds LS1 5AB|Ghent 9000".split(
    "|",
  );
const COMPANIES =
  "Northwind Trading|Blue Harbour Logistics|Keystone Analytics|Meridian Supplies|Atlas Fabrication|Cedar & Stone LLP|Orion Medical|Riverside Printing".split(
    "|",
  );

export const person = (r: Random) => `${pick(r, FIRST)} ${pick(r, LAST)}`;
export const company = (r: Random) => pick(r, COMPANIES);
export function address(r: Random): string[] {
  return [`${int(r, 1, 240)} ${pick(r, STREETS)}`, pick(r, CITIES)];
}
export const amount = (r: Random, max = 5000) => (Math.round(r() * max * 100) / 100).toFixed(2);
export function date(r: Random): string {
  const month = "January February March April May June July August September October November December".split(
    " ",
  );
  return `${int(r, 1, 28)} ${pick(r, month)} ${int(r, 2019, 2026)}`;
}

// CJK: sentences assembled from common words, all inside JIS X 0208 (Japanese) and GB 2312
// (Chinese), so the Debian fonts have every glyph.
const JA_WORDS =
  "文書 処理 システム 管理 会議 報告 資料 確認 作業 計画 予定 担当 部門 顧客 契約 品質 技術 設計 開発 運用 変更 手順 安全 製品 情報 結果 検討 対応 提出 更新".split(
    " ",
  );
const JA_PARTICLES = "は が を に で と の も から まで".split(" ");
const JA_ENDINGS = "します。|しました。|です。|となります。|を行います。|をお願いします。".split("|");
const ZH_WORDS =
  "文件 处理 系统 管理 会议 报告 资料 确认 工作 计划 安排 负责 部门 客户 合同 质量 技术 设计 开发 运行 变更 步骤 安全 产品 信息 结果 讨论 提交 更新 服务".split(
    " ",
  );
const ZH_LINKS = "的 和 在 对 把 将 与 由".split(" ");
const ZH_ENDINGS = "。|。|，并及时反馈。|，请确认。|已经完成。".split("|");

export function japaneseSentence(r: Random): string {
  let s = "";
  for (let i = int(r, 2, 4); i > 0; i--) s += pick(r, JA_WORDS) + pick(r, JA_PARTICLES);
  return s + pick(r, JA_WORDS) + pick(r, JA_ENDINGS);
}

export function chineseSentence(r: Random): string {
  let s = "";
  for (let i = int(r, 2, 4); i > 0; i--) s += pick(r, ZH_WORDS) + pick(r, ZH_LINKS);
  return s + pick(r, ZH_WORDS) + pick(r, ZH_ENDINGS);
}
