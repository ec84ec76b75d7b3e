import { describe, expect, it } from 'vitest';
import { LogBudget } from '../../../../agent/http/log-budget';

describe('LogBudget', () => {
  it('writes at most perWindow lines a window, then reports how many it left out', () => {
    let t = 0;
    const budget = new LogBudget(3, 1000, () => t);
    const taken = Array.from({ length: 10 }, () => budget.take());
    expect(taken.filter((b) => b.write)).toHaveLength(3);
    expect(taken.slice(0, 3)).toEqual(Array.from({ length: 3 }, () => ({ write: true, suppressed: 0 })));
    t = 999;
    expect(budget.take()).toEqual({ write: false });
    t = 1000;
    expect(budget.take()).toEqual({ write: true, suppressed: 8 });
    expect(budget.take()).toEqual({ write: true, suppressed: 0 });
  });
});
