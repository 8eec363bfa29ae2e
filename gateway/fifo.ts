/**
 * An array used as a FIFO with a moving head index (push at the end, read at the head), which is
 * cheaper than shift() for the gateway's long queues of lamp indices and messages.
 */

/** Drop the consumed part before `head` once it is all of the array or most of a long one;
 * returns the new head index. */
export function compactFifo<T>(fifo: T[], head: number): number {
  if (head === fifo.length) {
    fifo.length = 0;
    return 0;
  }
  if (head > 4096 && head * 2 > fifo.length) {
    fifo.splice(0, head);
    return 0;
  }
  return head;
}
