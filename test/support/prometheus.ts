// Scrapes a Prometheus text endpoint into { "name{labels}": value } (and sums by metric name).
export type Scrape = {
  samples: Map<string, number>;
  sum(name: string, labels?: Record<string, string>): number;
};

export async function scrape(url: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m) samples.set(`${m[1]}${m[2] ?? ""}`, Number(m[3]));
  }
  return {
    samples,
    sum(name, labels = {}) {
      let total = 0;
      for (const [key, v] of samples) {
        const brace = key.indexOf("{");
        if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
        if (Object.entries(labels).every(([k, lv]) => key.includes(`${k}="${lv}"`))) total += v;
      }
      return total;
    },
  };
}
