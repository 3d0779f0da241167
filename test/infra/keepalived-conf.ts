/**
 * A small reader of keepalived.conf for tests: keywords, their arguments (quoted strings kept whole)
 * and their blocks, comments (`!`, `#`) dropped. Enough to check what the renderer wrote without
 * comparing against a golden file.
 */
export interface ConfNode {
  keyword: string;
  args: string[];
  children: ConfNode[] | null;
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const rawLine of text.split('\n')) {
    let line = rawLine;
    const lineTokens: string[] = [];
    for (;;) {
      line = line.trimStart();
      if (line === '' || line.startsWith('!') || line.startsWith('#')) break;
      if (line.startsWith('"')) {
        const end = line.indexOf('"', 1);
        if (end < 0) throw new Error(`unterminated quote in: ${rawLine}`);
        lineTokens.push(line.slice(1, end));
        line = line.slice(end + 1);
        continue;
      }
      if (line.startsWith('{') || line.startsWith('}')) {
        lineTokens.push(line[0]!);
        line = line.slice(1);
        continue;
      }
      const match = /^[^\s{}"]+/.exec(line)!;
      lineTokens.push(match[0]);
      line = line.slice(match[0].length);
    }
    tokens.push(...lineTokens, '\n');
  }
  return tokens;
}

export function parseKeepalivedText(text: string): ConfNode[] {
  const tokens = tokenize(text);
  let at = 0;
  const readBlock = (closing: boolean): ConfNode[] => {
    const nodes: ConfNode[] = [];
    let current: ConfNode | null = null;
    while (at < tokens.length) {
      const token = tokens[at++]!;
      if (token === '\n') {
        current = null;
        continue;
      }
      if (token === '}') {
        if (!closing) throw new Error('unbalanced }');
        return nodes;
      }
      if (token === '{') {
        if (!current) throw new Error('block without keyword');
        current.children = readBlock(true);
        current = null;
        continue;
      }
      if (!current) {
        current = { keyword: token, args: [], children: null };
        nodes.push(current);
      } else current.args.push(token);
    }
    if (closing) throw new Error('missing }');
    return nodes;
  };
  return readBlock(false);
}

/** The first node with this keyword (and first argument, if given); throws when there is none. */
export function find(nodes: ConfNode[], keyword: string, firstArg?: string): ConfNode {
  const node = nodes.find((n) => n.keyword === keyword && (firstArg === undefined || n.args[0] === firstArg));
  if (!node) throw new Error(`no ${keyword}${firstArg ? ` ${firstArg}` : ''} in ${nodes.map((n) => n.keyword).join(', ')}`);
  return node;
}

export const has = (nodes: ConfNode[], keyword: string): boolean => nodes.some((n) => n.keyword === keyword);
export const value = (nodes: ConfNode[], keyword: string): string => find(nodes, keyword).args.join(' ');
