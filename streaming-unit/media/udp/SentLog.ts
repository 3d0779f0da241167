/**
 * The frames a UDP session sent last (seq, timestamp, when), in a fixed ring of typed arrays: no
 * allocation per frame. After the session's data channel fails, the ones inside the resend window are
 * sent again over TCP (UdpPlane).
 */
export class SentLog {
  static readonly SIZE = 128;
  readonly seq = new Float64Array(SentLog.SIZE);
  readonly timestamp = new Float64Array(SentLog.SIZE);
  readonly at = new Float64Array(SentLog.SIZE);
  count = 0;

  add(seq: number, timestamp: number, at: number): void {
    const i = this.count++ % SentLog.SIZE;
    this.seq[i] = seq;
    this.timestamp[i] = timestamp;
    this.at[i] = at;
  }

  /** oldest first, those sent at or after `since` */
  *since(since: number): Generator<{ seq: number; timestamp: number }> {
    const from = Math.max(0, this.count - SentLog.SIZE);
    for (let n = from; n < this.count; n++) {
      const i = n % SentLog.SIZE;
      if (this.at[i]! >= since) yield { seq: this.seq[i]!, timestamp: this.timestamp[i]! };
    }
  }
}
