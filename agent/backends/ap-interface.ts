/**
 * The setup AP's own interface for AP+STA (default `uap0`), as both radio backends make and remove
 * it: created on the station's radio only when an AP starts (`iw dev <wifi> interface add <ap> type
 * __ap addr <mac>`, the locally administered MAC of apMacFor), deleted when the AP stops or the
 * backend closes. A marker file in the backend's runtime directory (wiped at reboot) records that we
 * created it, so an agent restarted after a crash takes a leftover one as its own and deletes it; an
 * interface we did not create is used, never deleted. An existing AP interface still carrying the
 * station's MAC gets the derived one while down (mac80211 refuses two interfaces with one address).
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir } from '../../platform/atomic-file';
import { apMacFor } from '../core/ap-plan';
import type { CommandResult, CommandRunner } from '../ports/command-runner';

export interface ApInterfaceOptions {
  runner: CommandRunner;
  /** The station interface, whose radio the AP interface is made on. */
  station: string;
  /** The AP interface's name. */
  name: string;
  /** `/sys/class/net`, or a fixture tree in tests. */
  sysfsNetDir: string;
  /** Where the marker lives: a runtime directory wiped at reboot. */
  runtimeDir: string;
  tools: { iw: string; ip: string };
  /** Where odd findings are told (an address that could not be set, an interface left behind). */
  note: (message: string) => void;
  timeoutMs?: number;
}

/** A sysfs attribute of an interface, trimmed; undefined when it cannot be read. */
export async function readSysfsNet(dir: string, name: string, file: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, name, file), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

export class ApInterface {
  /** The interface exists because we created it (this run, or a previous one per the marker). */
  private created = false;

  constructor(private readonly o: ApInterfaceOptions) {}

  get name(): string {
    return this.o.name;
  }

  /** Marks the AP interface as created by us; it survives an agent restart, not a reboot. */
  get marker(): string {
    return join(this.o.runtimeDir, `created-${this.o.name}`);
  }

  private run(tool: 'iw' | 'ip', args: readonly string[]): Promise<CommandResult> {
    return this.o.runner.run(this.o.tools[tool], args, { timeoutMs: this.o.timeoutMs ?? 10_000 });
  }

  private read(name: string, file: string): Promise<string | undefined> {
    return readSysfsNet(this.o.sysfsNetDir, name, file);
  }

  private async marked(): Promise<boolean> {
    return stat(this.marker).then(
      () => true,
      () => false,
    );
  }

  async exists(): Promise<boolean> {
    return (await this.read(this.o.name, 'ifindex')) !== undefined;
  }

  /**
   * The AP interface exists, with an address of its own: as found (ours if the marker says a previous
   * run created it), or created now on the station's radio with the derived MAC. Throws when it
   * cannot be created.
   */
  async ensure(): Promise<void> {
    const name = this.o.name;
    const station = await this.read(this.o.station, 'address');
    const mac = station === undefined ? undefined : apMacFor(station);
    if (await this.exists()) {
      // Left by a run that crashed (systemd restarted us): ours to delete again.
      if (await this.marked()) this.created = true;
    } else {
      // Marker first: a crash between the two leaves a marker without an interface (harmless), never
      // an interface nobody will delete.
      await ensureDir(this.o.runtimeDir);
      await writeFile(this.marker, `${name}\n`, { mode: 0o600 });
      const added = await this.run('iw', [
        'dev',
        this.o.station,
        'interface',
        'add',
        name,
        'type',
        '__ap',
        ...(mac === undefined ? [] : ['addr', mac]),
      ]);
      if (added.code !== 0) {
        await rm(this.marker, { force: true });
        const why = (added.stderr || added.stdout).trim() || `exit ${added.code ?? '?'}`;
        throw new Error(`could not create ${name} (iw: ${why})`);
      }
      this.created = true;
    }
    // Two interfaces with one MAC: mac80211 refuses to bring the second up (ENOTUNIQ). Some drivers
    // ignore `addr`, and a leftover interface may predate it: change it while the interface is down.
    const ap = await this.read(name, 'address');
    if (mac === undefined || station === undefined || ap?.toLowerCase() !== station.toLowerCase()) return;
    await this.run('ip', ['link', 'set', 'dev', name, 'down']);
    const set = await this.run('ip', ['link', 'set', 'dev', name, 'address', mac]);
    if (set.code !== 0) this.o.note(`could not set ${name}'s address to ${mac}: ${set.stderr.trim()}`);
  }

  /** Delete the AP interface if we created it (this run or, per the marker, a previous one). */
  async remove(): Promise<void> {
    if (!this.created && !(await this.marked())) return;
    if (await this.exists()) {
      const deleted = await this.run('iw', ['dev', this.o.name, 'del']);
      if (deleted.code !== 0 && (await this.exists())) {
        // Still ours: the next stop or close tries again.
        this.o.note(`could not delete ${this.o.name}: ${(deleted.stderr || deleted.stdout).trim()}`);
        return;
      }
    }
    this.created = false;
    await rm(this.marker, { force: true });
  }
}
