/**
 * The last sequence number the session delivered. Dispatches are counted here rather than in the
 * statechart's context so that the stream of events never costs a machine transition; the
 * statechart only replaces the ledger when a fresh session starts.
 */
export class SequenceLedger {
  #seq: number | null;
  #delivered = 0;
  #dropped = 0;

  /** `seq`: the last sequence of a session restored from a store, so its RESUME replays from there */
  constructor(seq: number | null = null) {
    this.#seq = seq;
  }

  get seq(): number | null {
    return this.#seq;
  }

  get delivered(): number {
    return this.#delivered;
  }

  /** Events refused because their sequence was not above the last one: replays, repeats, reorders. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Records `seq` and says whether its event is new. A replayed or repeated sequence is refused,
   * which is what makes delivery exactly-once across resumes.
   */
  accept(seq: number): boolean {
    if (this.#seq !== null && seq <= this.#seq) {
      this.#dropped += 1;
      return false;
    }
    this.#seq = seq;
    this.#delivered += 1;
    return true;
  }

  toJSON(): { seq: number | null } {
    return { seq: this.#seq };
  }
}
