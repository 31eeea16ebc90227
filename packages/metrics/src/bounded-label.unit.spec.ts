import { BoundedLabel } from './bounded-label';

describe('BoundedLabel', () => {
  it('keeps the first values up to the limit and folds later ones into other', () => {
    const label = new BoundedLabel(2);
    expect(['a', 'b', 'c', 'a', 'd', 'b'].map((v) => label.value(v))).toEqual(['a', 'b', 'other', 'a', 'other', 'b']);
  });

  it('folds everything with a limit of 0', () => {
    expect(new BoundedLabel(0).value('a')).toBe('other');
  });
});
