/**
 * Pure parsers for `iw list` / `iw phy` and `iw dev X station dump` (LC_ALL=C). The agent's
 * NetworkManager backend reads AP+STA concurrency, bands and the setup AP's client count here.
 *
 * `iw list` prints, per wiphy, a section like
 *
 *     valid interface combinations:
 *          * #{ managed } <= 1, #{ AP, P2P-client, P2P-GO } <= 1, #{ P2P-device } <= 1,
 *            total <= 3, #channels <= 2
 *
 * Each `*` item is one combination: groups of interface types with a limit each, a total and the
 * number of distinct channels. One item may wrap over several lines; the section ends at the first
 * line indented no deeper than its header.
 */

export interface IwCombination {
  groups: { types: string[]; max: number }[];
  total: number;
  channels: number;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/** Every combination of every wiphy in `iw list` output. */
export function parseIwCombinationList(text: string): IwCombination[] {
  const out: IwCombination[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i] ?? '';
    if (header.trim() !== 'valid interface combinations:') continue;
    const depth = indentOf(header);
    const items: string[] = [];
    for (i++; i < lines.length; i++) {
      const line = lines[i] ?? '';
      if (line.trim() === '') continue;
      if (indentOf(line) <= depth) {
        i--;
        break;
      }
      const t = line.trim();
      if (t.startsWith('* ')) items.push(t.slice(2));
      else if (items.length > 0) items[items.length - 1] = `${items[items.length - 1] ?? ''} ${t}`;
    }
    for (const item of items) {
      const groups = [...item.matchAll(/#\{([^}]*)\}\s*<=\s*(\d+)/g)].map((m) => ({
        types: (m[1] ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
        max: Number(m[2]),
      }));
      const total = /\btotal\s*<=\s*(\d+)/.exec(item);
      const channels = /#channels\s*<=\s*(\d+)/.exec(item);
      if (groups.length === 0 || !total) continue;
      out.push({ groups, total: Number(total[1]), channels: channels ? Number(channels[1]) : 1 });
    }
  }
  return out;
}

/** Whether one combination lets an `AP` and a `managed` interface exist at the same time. */
export function combinationAllowsApSta(c: IwCombination): boolean {
  if (c.total < 2 || c.channels < 1) return false;
  const withAp = c.groups.filter((g) => g.max >= 1 && g.types.includes('AP'));
  const withSta = c.groups.filter((g) => g.max >= 1 && g.types.includes('managed'));
  for (const a of withAp) {
    for (const s of withSta) {
      if (a !== s) return true;
      if (a.max >= 2) return true; // one group holding both types, room for two
    }
  }
  return false;
}

/**
 * `{ concurrentApSta }` from `iw list`: true when some combination allows an AP and a station
 * (`managed`) together, on one channel or more, with at least two interfaces in total. No
 * combinations section (old kernels, fullmac drivers that export none) → false.
 */
export function parseIwCombinations(text: string): { concurrentApSta: boolean } {
  return { concurrentApSta: parseIwCombinationList(text).some(combinationAllowsApSta) };
}

/** The bands `iw list` shows (`Band 1:` 2.4 GHz, `Band 2:` 5 GHz, `Band 4:` 6 GHz; 60 GHz ignored). */
export function parseIwBands(text: string): ('2.4GHz' | '5GHz' | '6GHz')[] {
  const names = { '1': '2.4GHz', '2': '5GHz', '4': '6GHz' } as const;
  const found = new Set<'2.4GHz' | '5GHz' | '6GHz'>();
  for (const m of text.matchAll(/^\s*Band (\d+):/gm)) {
    const key = m[1];
    if (key === '1' || key === '2' || key === '4') found.add(names[key]);
  }
  return (['2.4GHz', '5GHz', '6GHz'] as const).filter((b) => found.has(b));
}

/** How many stations `iw dev X station dump` lists (clients of an AP). */
export function parseIwStationCount(text: string): number {
  return [...text.matchAll(/^Station ([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}) \(on /gm)].length;
}

/**
 * `iw list` split per radio: each `Wiphy <name>` header line (column 0) starts a section that runs
 * to the next one. Text before the first header is dropped.
 */
export function splitIwWiphys(text: string): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const header = /^Wiphy (\S+)\s*$/.exec(line);
    const last = out.at(-1);
    if (header) out.push({ name: header[1] ?? '', text: `${line}\n` });
    else if (last) last.text += `${line}\n`;
  }
  return out;
}

/**
 * The section of `iw list` for one radio (`phy0`), so that another radio's combinations and bands
 * (a USB dongle next to the built-in one) do not count for it. The whole text when the name is
 * unknown or not listed (a single-radio `iw list` is then read as before).
 */
export function pickIwWiphy(text: string, name: string | undefined): string {
  if (name === undefined) return text;
  return splitIwWiphys(text).find((w) => w.name === name)?.text ?? text;
}
