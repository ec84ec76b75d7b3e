/**
 * Carrying out the AP planner's decisions around a join (agent/core/ap-plan.ts), the same way in
 * both radio backends: before it (keep, down, take turns, pause) and after it (nothing, back on a
 * channel, stop, start again). Each backend gives only what its AP does for each step.
 */
import type { ApFollowUp, JoinApPlan } from '../core/ap-plan';
import type { SetupApConfig } from '../ports/radio';

export interface ApJoinActions {
  stopAp(): Promise<void>;
  /** Stop beaconing for the join, keeping the AP's address and DHCP. */
  pauseAp(reason: string): Promise<void>;
  /** Beacon again, on `channel`. */
  restartAp(channel: number): Promise<void>;
  startAp(config: SetupApConfig): Promise<void>;
  note(message: string): void;
}

/** What a join does to the AP before it starts (mac80211 refuses another channel while the AP beacons). */
export async function clearApForJoin(plan: JoinApPlan, ap: ApJoinActions): Promise<void> {
  switch (plan.kind) {
    case 'keep':
      return;
    case 'down':
      return ap.stopAp();
    case 'turns':
      ap.note(`the setup AP is down for this join (AP and station take turns): ${plan.reason}`);
      return ap.stopAp();
    case 'pause':
      return ap.pauseAp(plan.reason);
  }
}

/** The AP after a join: back on a channel, stopped, or (after taking turns) started again as `config`. */
export async function followUpAfterJoin(
  follow: ApFollowUp,
  config: SetupApConfig | undefined,
  ap: ApJoinActions,
): Promise<void> {
  switch (follow.kind) {
    case 'none':
      return;
    case 'restart':
      return ap.restartAp(follow.channel);
    case 'stop':
      ap.note(`the setup AP stays down (AP and station take turns): ${follow.reason}`);
      return ap.stopAp();
    case 'start':
      // Took turns for this join: the AP the core believes kept comes back.
      if (!config) return;
      await ap.startAp(config).catch((err: unknown) => {
        ap.note(`the setup AP did not come back after the join: ${(err as Error).message}`);
      });
      return;
  }
}
