/** The keys of a JSON object's top level, in order, repeats kept (JSON.parse keeps only the last). */
export function topLevelKeys(line: string): string[] {
  const keys: string[] = []
  let depth = 0
  let expectKey = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === '"') {
      let j = i + 1
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1
      if (depth === 1 && expectKey) keys.push(JSON.parse(line.slice(i, j + 1)) as string)
      expectKey = false
      i = j
    } else if (c === '{' || c === '[') {
      depth++
      expectKey = c === '{' && depth === 1
    } else if (c === '}' || c === ']') depth--
    else if (c === ',') expectKey = depth === 1
  }
  return keys
}

/** What is wrong with a node's log as a stream of JSON lines: lines that are not JSON, and lines with a key twice. */
export function logLineProblems(log: string): string[] {
  const problems: string[] = []
  for (const line of log.split('\n')) {
    if (line.trim() === '') continue
    try {
      JSON.parse(line)
    } catch {
      problems.push(`not JSON: ${line.slice(0, 200)}`)
      continue
    }
    const keys = topLevelKeys(line)
    const twice = keys.filter((k, i) => keys.indexOf(k) !== i)
    if (twice.length > 0) problems.push(`key ${twice.join(', ')} twice: ${line.slice(0, 200)}`)
  }
  return problems
}
