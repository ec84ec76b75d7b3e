/**
 * Past jobs, from their journals: the History screen's list, each job's report, and every device's
 * results across jobs ("verified on Plant-WiFi on 2026-11-30") for the registry. Each journal is
 * read once and kept; a job that ran again is read again.
 */
import type { FailureReason } from '../../shared/protocol/job';
import type { DeviceHistoryEntry, HistoryEntry } from '../../shared/station-api';
import { listJobs, readJournal, type JobListing } from '../engine/journal';

interface JobRecord {
  entry: HistoryEntry;
  /** The devices that reached a result in this job. */
  results: { deviceId: string; result: 'verified' | 'failed'; reason?: FailureReason; at: string }[];
}

export class JobHistory {
  private readonly jobs = new Map<string, JobRecord>();

  constructor(
    private readonly jobsDir: string,
    private readonly isRunning: (jobId: string) => boolean,
  ) {}

  /** Read every journal in the jobs directory. */
  async load(): Promise<void> {
    this.jobs.clear();
    for (const listing of await listJobs(this.jobsDir)) await this.read(listing);
  }

  /** Read one job's journal again (it ran, was retried or ended). */
  async refresh(jobId: string): Promise<void> {
    const listing = (await listJobs(this.jobsDir)).find((j) => j.id === jobId);
    if (listing) await this.read(listing);
  }

  entries(): HistoryEntry[] {
    return [...this.jobs.values()]
      .map((j) => ({ ...j.entry, resumable: this.resumable(j.entry) }))
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  /** Each device's results, newest first. */
  byDevice(): Map<string, DeviceHistoryEntry[]> {
    const out = new Map<string, DeviceHistoryEntry[]>();
    for (const j of this.jobs.values()) {
      for (const r of j.results) {
        const list = out.get(r.deviceId) ?? [];
        list.push({
          jobId: j.entry.id,
          result: r.result,
          ...(r.reason !== undefined ? { reason: r.reason } : {}),
          ssid: j.entry.ssid,
          at: r.at,
        });
        out.set(r.deviceId, list);
      }
    }
    for (const list of out.values()) list.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    return out;
  }

  private resumable(e: HistoryEntry): boolean {
    return !e.ended && e.counts.pending > 0 && !this.isRunning(e.id);
  }

  private async read(listing: JobListing): Promise<void> {
    const replay = await readJournal(this.jobsDir, listing.id).catch(() => undefined);
    if (!replay) return;
    const results: JobRecord['results'] = [];
    for (const o of replay.devices.values()) {
      if (o.result === undefined) continue;
      results.push({
        deviceId: o.deviceId,
        result: o.result,
        ...(o.reason !== undefined ? { reason: o.reason } : {}),
        at: o.endedAt ?? listing.endedAt ?? listing.createdAt,
      });
    }
    this.jobs.set(listing.id, {
      entry: {
        id: listing.id,
        createdAt: listing.createdAt,
        path: listing.path,
        ssid: listing.ssid,
        counts: listing.counts,
        ended: listing.ended,
        resumable: false,
        ...(replay.spec.profileId !== undefined ? { profileId: replay.spec.profileId } : {}),
      },
      results,
    });
  }
}
