/**
 * MESSAGE_CREATE events that differ the way a busy guild's do: every id, nonce and timestamp new,
 * authors and channels drawn from a few dozen, content of 3–40 words from a vocabulary of a few
 * hundred, now and then a mention or an embed. Identical events would compress to almost nothing
 * and flatter every compressed stream; these come out near what bots report from Discord.
 * Seeded, so every run and every stream sees the same events.
 */

const words = (
  'the a to and of is it you that in for on this with be have not are was but just so what can do if they we like get ' +
  'one all my your about there out now when up time will at would more know how think good see some people go me ' +
  'deploy build server channel role bot update fixed broken test merge release patch issue ticket review night morning ' +
  'game match queue ranked win lose stream clip vod meme lol lmao yeah nah maybe tomorrow later today week weekend ' +
  'discord voice call ping pong event raid boss drop loot guild member admin mod ban kick mute warn rules welcome ' +
  'thanks please sorry hello hey hi bye gg wp ez nice cool great awesome wow really actually literally honestly ' +
  'pizza coffee tea sleep work school class exam homework project deadline meeting lunch dinner music song album ' +
  'playlist movie show episode season trailer spoiler art drawing photo picture screenshot link video gif emoji ' +
  'python javascript rust typescript docker kubernetes database query cache latency memory crash log error stack'
).split(' ');

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function messageEvents(seed = 1): (index: number) => Record<string, unknown> {
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
  const guildId = `10631284456${digits(8)}`;
  const channels = Array.from({ length: 12 }, () => `10631${digits(14)}`);
  const roles = Array.from({ length: 20 }, () => `10631${digits(14)}`);
  const users = Array.from({ length: 40 }, (_, i) => ({
    id: `2082374${digits(11)}`,
    username: `${pick(words)}_${pick(words)}${i}`,
    global_name: `${pick(words)} ${pick(words)}`,
    avatar: Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(random() * 16)]).join(''),
    discriminator: '0',
    public_flags: pick([0, 0, 64, 128, 256, 4194304]),
    ...(random() < 0.1 ? { bot: true } : {}),
  }));
  let snowflake = 1185281950023381032n;
  let time = Date.parse('2023-12-14T09:21:40.517Z');
  return () => {
    snowflake += BigInt(1 + Math.floor(random() * 5e9));
    time += Math.floor(random() * 4_000);
    const author = pick(users);
    const content = Array.from({ length: 3 + Math.floor(random() * 38) }, () => pick(words)).join(' ');
    const mentioned = random() < 0.15 ? [pick(users)] : [];
    return {
      id: String(snowflake),
      type: 0,
      content: mentioned.length ? `<@${mentioned[0]!.id}> ${content}` : content,
      channel_id: pick(channels),
      guild_id: guildId,
      author,
      member: {
        roles: Array.from({ length: Math.floor(random() * 4) }, () => pick(roles)),
        joined_at: new Date(time - Math.floor(random() * 3e10)).toISOString().replace('Z', '000+00:00'),
        nick: random() < 0.3 ? pick(words) : null,
        deaf: false,
        mute: false,
        flags: 0,
        premium_since: null,
      },
      attachments: [],
      embeds:
        random() < 0.05
          ? [{ type: 'link', url: `https://example.com/${pick(words)}/${digits(6)}`, title: `${pick(words)} ${pick(words)}` }]
          : [],
      mentions: mentioned,
      mention_roles: [],
      pinned: false,
      mention_everyone: false,
      tts: false,
      timestamp: new Date(time).toISOString().replace('Z', '000+00:00'),
      edited_timestamp: null,
      flags: 0,
      components: [],
      nonce: String(snowflake - BigInt(Math.floor(random() * 1e9))),
    };
  };
}
