/** The runner's recorder over a job journal: every step and result is on disk before the job moves on. */
import type { JobRecorder } from './job-runner';
import type { JobJournal } from './journal';

export function journalRecorder(journal: JobJournal): JobRecorder {
  return {
    step: (deviceId, step, facts) =>
      journal.append({
        t: 'step',
        deviceId,
        step,
        at: new Date().toISOString(),
        ...(facts.bssid !== undefined ? { bssid: facts.bssid } : {}),
        ...(facts.rssi !== undefined ? { rssi: facts.rssi } : {}),
        ...(facts.targetSignal !== undefined ? { targetSignal: facts.targetSignal } : {}),
        ...(facts.attemptId !== undefined ? { attemptId: facts.attemptId } : {}),
        ...(facts.ip !== undefined ? { ip: facts.ip } : {}),
        ...(facts.hostname !== undefined ? { hostname: facts.hostname } : {}),
        ...(facts.detail !== undefined ? { detail: facts.detail } : {}),
      }),
    result: (outcome) => journal.append({ t: 'result', outcome }),
  };
}
