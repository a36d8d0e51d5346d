// gateway/listen/consent/complaint.ts: complaints recognised from misheard pinyin or characters.
import { describe, expect, it } from 'vitest';
import { soundsLikeComplaint } from '../gateway/listen/consent/complaint.js';

describe('soundsLikeComplaint', () => {
  it.each(['b ié d ǎ d é', 'b ié z ài d ǎ l e', 'b ú y ào z ài d ǎ l e', 'w ǒ y ào t óu s ù', 'b ié z ài n ǎ ér n e', 'b ù y ào z ài n ǎ n e', '别打了', '我要投诉', 'stop calling me'])(
    'hears a complaint in %s',
    (t) => expect(soundsLikeComplaint(t)).toBe(true),
  );
  it.each(['b ié', 'b ié n á', 'b ù y òng', 'k ě y ǐ', 'd ǎ k āi', 'sh ì d e', 'n ǎ l ǐ', '不用了', 'no thanks'])('hears no complaint in %s', (t) =>
    expect(soundsLikeComplaint(t)).toBe(false),
  );
});
