import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { maskError } from '../../src/schema/errors.js';
import { BudgetExceededError, UpstreamBudget } from '../../src/security/budget.js';

describe('UpstreamBudget', () => {
  it('allows exactly `limit` calls, then refuses every further one without counting it', () => {
    const budget = new UpstreamBudget(3);
    expect(budget.spent).toBe(0);
    budget.spend();
    budget.spend();
    budget.spend();
    expect(budget.spent).toBe(3);
    expect(() => budget.spend()).toThrow(BudgetExceededError);
    expect(() => budget.spend()).toThrow(BudgetExceededError);
    // A refused call was not made, so it is not spent.
    expect(budget.spent).toBe(3);
  });

  it('names the limit in its message', () => {
    const budget = new UpstreamBudget(1);
    budget.spend();
    let caught: unknown;
    try {
      budget.spend();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BudgetExceededError);
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).name).toBe('BudgetExceededError');
    expect((caught as Error).message).toBe('This operation reached its limit of 1 upstream calls');
  });

  it('a zero budget refuses the first call', () => {
    const budget = new UpstreamBudget(0);
    expect(() => budget.spend()).toThrow(BudgetExceededError);
    expect(budget.spent).toBe(0);
  });

  it('budgets are independent of each other (one per operation)', () => {
    const a = new UpstreamBudget(2);
    const b = new UpstreamBudget(2);
    a.spend();
    a.spend();
    expect(() => a.spend()).toThrow(BudgetExceededError);
    b.spend();
    expect(b.spent).toBe(1);
    expect(a.spent).toBe(2);
  });

  it('counts every call up to a large limit exactly', () => {
    const budget = new UpstreamBudget(50);
    for (let i = 0; i < 50; i++) budget.spend();
    expect(budget.spent).toBe(50);
    expect(() => budget.spend()).toThrow('limit of 50 upstream calls');
  });
});

describe('BudgetExceededError as the client sees it', () => {
  it('is mapped to QUERY_TOO_COMPLEX with its message kept, also when wrapped by a resolver path', () => {
    const original = new BudgetExceededError('This operation reached its limit of 7 upstream calls');
    const located = new GraphQLError(original.message, { path: ['batchCalls', 'edges', 3, 'node', 'recipients'], originalError: original });
    for (const error of [original, located]) {
      const masked = maskError(error, 'Unexpected error.', false) as GraphQLError;
      expect(masked).toBeInstanceOf(GraphQLError);
      expect(masked.message).toBe('This operation reached its limit of 7 upstream calls');
      expect(masked.extensions['code']).toBe('QUERY_TOO_COMPLEX');
    }
    const masked = maskError(located, 'Unexpected error.', false) as GraphQLError;
    expect(masked.path).toEqual(['batchCalls', 'edges', 3, 'node', 'recipients']);
  });

  it('an ordinary Error is masked instead (the mapping is specific to the budget error)', () => {
    const masked = maskError(new Error('This operation reached its limit of 7 upstream calls'), 'Unexpected error.', false) as GraphQLError;
    expect(masked.message).toBe('Unexpected error.');
    expect(masked.extensions['code']).not.toBe('QUERY_TOO_COMPLEX');
  });
});
