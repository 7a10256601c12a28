/**
 * Sets `key` in a Map used as a bounded recency list: the key moves to the newest end (a Map keeps
 * insertion order), and when the map is full its oldest entry goes first.
 */
export function setNewest<K, V>(map: Map<K, V>, key: K, value: V, capacity: number): void {
  map.delete(key)
  if (map.size >= capacity) {
    const oldest = map.keys().next()
    if (oldest.done !== true) map.delete(oldest.value)
  }
  map.set(key, value)
}
