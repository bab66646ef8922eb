/**
 * Path-traversal payloads in the forms catalogued by public lists. Each
 * family names its source; docs/paths.md lists the same families.
 *
 * - PATT: swisskyrepo/PayloadsAllTheThings, "Directory Traversal"
 * - SecLists: danielmiessler/SecLists, Fuzzing/LFI (LFI-Jhaddix.txt,
 *   LFI-gracefulsecurity-linux.txt / -windows.txt)
 * - OWASP: OWASP Web Security Testing Guide, WSTG-ATHZ-01 "Testing Directory
 *   Traversal File Include", and the OWASP "Path Traversal" attack page
 * - WorstFit: Orange Tsai and Splitline, "WorstFit: Unveiling Hidden
 *   Transformers in Windows ANSI" (2025), on Unicode best-fit look-alikes
 *
 * Payloads are written as an attacker types them into a URL: `%xx` stays
 * literal here and is decoded by the framework (once) over HTTP.
 */
export type PayloadFamily =
  | 'plain'
  | 'absolute'
  | 'windows'
  | 'url-encoded'
  | 'double-encoded'
  | 'overlong-utf8'
  | 'iis-unicode'
  | 'unicode-fullwidth'
  | 'mixed-separators'
  | 'filter-evasion'
  | 'trailing-dots-spaces'
  | 'null-byte'
  | 'dotfile'
  | 'control-character'
  | 'over-long';

export const PAYLOAD_SOURCES: Readonly<Record<PayloadFamily, string>> = {
  plain: 'PATT, SecLists LFI-Jhaddix.txt',
  absolute: 'SecLists LFI-gracefulsecurity-linux.txt',
  windows: 'PATT, SecLists LFI-gracefulsecurity-windows.txt',
  'url-encoded': 'PATT, OWASP WSTG-ATHZ-01',
  'double-encoded': 'PATT, OWASP WSTG-ATHZ-01',
  'overlong-utf8': 'PATT, OWASP WSTG-ATHZ-01',
  'iis-unicode': 'PATT ("16 bits Unicode encoding")',
  'unicode-fullwidth': 'PATT, WorstFit',
  'mixed-separators': 'SecLists LFI-Jhaddix.txt, PATT',
  'filter-evasion': 'PATT ("....//"), SecLists LFI-Jhaddix.txt',
  'trailing-dots-spaces': 'PATT, OWASP Path Traversal',
  'null-byte': 'PATT, OWASP WSTG-ATHZ-01',
  dotfile: 'SecLists Discovery/Web-Content (.env, .git, .htpasswd)',
  'control-character': 'OWASP Log Injection',
  'over-long': 'SecLists LFI-Jhaddix.txt (deep ../ chains)',
};

export const TRAVERSAL_PAYLOADS: readonly (readonly [PayloadFamily, string])[] = [
  ['plain', '../../../etc/passwd'],
  ['plain', '../../../../../../../../../../etc/passwd'],
  ['plain', '..'],
  ['plain', '../'],
  ['plain', 'docs/../../etc/passwd'],
  ['plain', 'docs/../../../etc/shadow'],
  ['plain', './../etc/passwd'],
  ['plain', '../data-evil/secret.txt'],

  ['absolute', '/etc/passwd'],
  ['absolute', '//etc/passwd'],
  ['absolute', '/./././etc/passwd'],
  ['absolute', '/../../../etc/passwd'],

  ['windows', '..\\..\\..\\windows\\win.ini'],
  ['windows', 'C:\\Windows\\win.ini'],
  ['windows', 'C:/Windows/win.ini'],
  ['windows', 'c:boot.ini'],
  ['windows', '\\\\localhost\\c$\\windows\\win.ini'],
  ['windows', '\\\\?\\C:\\Windows\\win.ini'],
  ['windows', 'docs/readme.txt::$DATA'],

  ['url-encoded', '%2e%2e%2f%2e%2e%2fetc%2fpasswd'],
  ['url-encoded', '%2e%2e/%2e%2e/etc/passwd'],
  ['url-encoded', '..%2f..%2f..%2fetc%2fpasswd'],
  ['url-encoded', '..%5c..%5cwindows%5cwin.ini'],
  ['url-encoded', '%2e%2e%5c%2e%2e%5cwindows'],
  ['url-encoded', '%2fetc%2fpasswd'],
  ['url-encoded', '%2e%2e'],
  ['url-encoded', '%2eenv'],

  ['double-encoded', '%252e%252e%252f%252e%252e%252fetc%252fpasswd'],
  ['double-encoded', '..%252f..%252fetc%252fpasswd'],
  ['double-encoded', '..%255c..%255cwindows'],
  ['double-encoded', '%252e%252e%255c'],
  ['double-encoded', '%25252e%25252e%25252f'],

  ['overlong-utf8', '%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd'],
  ['overlong-utf8', '..%c0%af..%c0%afetc%c0%afpasswd'],
  ['overlong-utf8', '..%c1%9c..%c1%9cwindows'],
  ['overlong-utf8', '%c0%2e%c0%2e%c0%2f'],
  ['overlong-utf8', '%e0%80%ae%e0%80%ae/etc'],
  ['overlong-utf8', '%f0%80%80%ae%f0%80%80%ae/etc'],
  ['overlong-utf8', '%c0%ae%c0%ae%c0%af'],

  ['iis-unicode', '..%u2215..%u2215etc%u2215passwd'],
  ['iis-unicode', '%uff0e%uff0e%u2215'],
  ['iis-unicode', '%uff0e%uff0e%u2216'],
  ['iis-unicode', '..%u2216..%u2216windows'],

  ['unicode-fullwidth', '．．／．．／etc／passwd'],
  ['unicode-fullwidth', '．．/．．/etc/passwd'],
  ['unicode-fullwidth', '..／..／etc／passwd'],
  ['unicode-fullwidth', '%ef%bc%8e%ef%bc%8e%ef%bc%8f'],
  ['unicode-fullwidth', '\u2025/etc/passwd'],
  ['unicode-fullwidth', '..\u2215..\u2215etc\u2215passwd'],
  ['unicode-fullwidth', '..\u2044..\u2044etc'],
  ['unicode-fullwidth', '..＼..＼windows'],
  ['unicode-fullwidth', '．env'],
  ['unicode-fullwidth', '\ufe52\ufe52/etc/passwd'],

  ['mixed-separators', '..\\/..\\/etc/passwd'],
  ['mixed-separators', '../\\../\\etc/passwd'],
  ['mixed-separators', '..\\/..\\/..\\/windows\\/win.ini'],
  ['mixed-separators', '/\\../\\../etc'],

  ['filter-evasion', '....//....//etc/passwd'],
  ['filter-evasion', '..././..././etc/passwd'],
  ['filter-evasion', '....\\/....\\/etc/passwd'],
  ['filter-evasion', '.../.../etc/passwd'],
  ['filter-evasion', '..;/..;/etc/passwd'],

  ['trailing-dots-spaces', '.. /.. /etc/passwd'],
  ['trailing-dots-spaces', '. . /etc/passwd'],
  ['trailing-dots-spaces', 'docs/readme.txt.'],
  ['trailing-dots-spaces', 'docs/readme.txt '],
  ['trailing-dots-spaces', '..../etc/passwd'],
  ['trailing-dots-spaces', 'docs/readme.txt....'],

  ['null-byte', '../../etc/passwd%00'],
  ['null-byte', '../../etc/passwd%00.png'],
  ['null-byte', 'docs/readme.txt%00.png'],
  ['null-byte', '%00../../etc/passwd'],
  ['null-byte', 'docs%00/readme.txt'],

  ['dotfile', '.env'],
  ['dotfile', '.git/config'],
  ['dotfile', 'docs/.htpasswd'],
  ['dotfile', '.ssh/id_rsa'],

  ['control-character', 'docs/readme.txt%0a'],
  ['control-character', 'docs/%0d%0areadme.txt'],

  ['over-long', 'a/'.repeat(600) + 'x.txt'],
  ['over-long', '../'.repeat(400) + 'etc/passwd'],
];
