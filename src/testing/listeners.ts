export type ChaosEventName = 'connection' | 'identify' | 'resume' | 'close';

export interface ChaosEventInfo {
  connection: number;
  code?: number;
}

export type ChaosListener = (info: ChaosEventInfo) => void;

export class ListenerRegistry {
  private readonly listeners = new Map<ChaosEventName, Set<ChaosListener>>();

  add(event: ChaosEventName, listener: ChaosListener): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  emit(event: ChaosEventName, info: ChaosEventInfo): void {
    // Copy so a listener that unsubscribes itself does not disturb the loop.
    for (const listener of [...(this.listeners.get(event) ?? [])]) listener(info);
  }
}
