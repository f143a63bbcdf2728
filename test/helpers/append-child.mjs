// Child process for the append kill tests: runs the BUILT tar-append (dist/)
// so it can be killed with SIGKILL mid-append, like a real `custody transfer`.
//   node append-child.mjs append <bundle> <name>=<size>[,<byte>] ...   one append with those members
//   node append-child.mjs loop <bundle> <count> <size>                  <count> appends of one member each
//   node append-child.mjs recover <bundle>
// Prints one JSON line per append: {"ok":true,...} or {"ok":false,"code":...}.
import { appendMembers, recoverInterruptedAppend } from '../../dist/bundle/tar-append.js';

const [mode, bundle, ...rest] = process.argv.slice(2);

function memberOf(spec) {
  const [name, sizeFill] = spec.split('=');
  const [size, fill] = sizeFill.split(',');
  return { name, bytes: new Uint8Array(Number(size)).fill(Number(fill ?? 0x41)) };
}

async function once(members) {
  try {
    const r = await appendMembers(bundle, members);
    console.log(JSON.stringify({ ok: true, names: members.map((m) => m.name), ...r }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, code: e.code, message: e.message, names: members.map((m) => m.name) }));
  }
}

if (mode === 'append') await once(rest.map(memberOf));
else if (mode === 'loop') {
  const [count, size, prefix = 'custody/chain/rec'] = rest;
  for (let i = 0; i < Number(count); i++) await once([{ name: `${prefix}-${String(i).padStart(4, '0')}`, bytes: new Uint8Array(Number(size)).fill(i & 0xff) }]);
} else if (mode === 'recover') console.log(JSON.stringify({ ok: true, recovered: await recoverInterruptedAppend(bundle) }));
else throw new Error(`unknown mode ${mode}`);
