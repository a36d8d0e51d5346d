// What a decode may be asked to do: the options the gateway sends with a file to the programs helper process
// (programs.ts), which runs ffmpeg on them (promptImport.ts). Apart from both, so that neither imports the other.

/** The containers an upload may be in, as ffmpeg's demuxer names. */
export const UPLOAD_FORMATS = ['wav', 'flac', 'ogg', 'mp3', 'mov', 'aiff'] as const;
export type UploadFormat = (typeof UPLOAD_FORMATS)[number];

export interface DecodeOptions {
  /** EBU R128 loudness target in LUFS (ffmpeg `loudnorm`); omitted = no loudness change. */
  loudnessLufs?: number;
  /** High-pass corner in Hz, to remove DC offset and mains hum (the syllable recordings carry a strong one). */
  highpassHz?: number;
  /**
   * A file from outside (an upload): ffmpeg is told the demuxer (from `sniffAudioFormat`, never its own guess),
   * may open nothing but that file (`-protocol_whitelist file`: no playlists pulling URLs or other files), reads
   * at most `maxSeconds` of it (`-t`: an hour of silence in a 641 KB FLAC no longer decodes to 400 MB), and is
   * killed after `timeoutMs`.
   */
  untrusted?: { format: UploadFormat; maxSeconds: number; timeoutMs: number };
}
