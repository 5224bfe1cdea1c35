/**
 * Government self-service pages a campaign may link to directly, untracked: the carrier does the
 * thing itself (look up its record, file its MCS-150, register for UCR) on the agency's own site.
 * Wrapping those links in our redirect would make a government link look like ours, and a
 * recipient (or a filter) should see the agency's host in the link. Only https links qualify.
 *
 * Matching is on the exact host, or on any subdomain of a `suffix` entry.
 */

export interface UntrackedHost {
  host: string;
  /** True when subdomains match too. */
  suffix: boolean;
  /** What the host is and where that is stated. */
  source: string;
}

export const UNTRACKED_HOSTS: readonly UntrackedHost[] = [
  {
    host: "safer.fmcsa.dot.gov",
    suffix: false,
    source: "FMCSA SAFER company snapshot (https://safer.fmcsa.dot.gov/CompanySnapshot.aspx)",
  },
  {
    host: "li-public.fmcsa.dot.gov",
    suffix: false,
    source: "FMCSA Licensing & Insurance public search (linked from https://www.fmcsa.dot.gov/registration)",
  },
  {
    host: "ask.fmcsa.dot.gov",
    suffix: false,
    source: "FMCSA's help and question portal (linked from https://www.fmcsa.dot.gov/contact-us)",
  },
  {
    host: "portal.fmcsa.dot.gov",
    suffix: false,
    source:
      "FMCSA Portal, where a carrier files its MCS-150 online (https://www.fmcsa.dot.gov/registration/updating-your-registration)",
  },
  { host: "www.fmcsa.dot.gov", suffix: false, source: "FMCSA's public website (https://www.fmcsa.dot.gov)" },
  { host: "fmcsa.dot.gov", suffix: false, source: "FMCSA's public website, without www" },
  {
    host: "ucr.gov",
    suffix: false,
    source: "Unified Carrier Registration Plan (49 U.S.C. 14504a; https://www.ucr.gov)",
  },
  { host: "www.ucr.gov", suffix: false, source: "Unified Carrier Registration Plan, with www" },
  { host: "plus.ucr.gov", suffix: false, source: "UCR's online registration system (linked from https://www.ucr.gov)" },
  {
    host: "irs.gov",
    suffix: true,
    source: "Internal Revenue Service, e.g. Form 2290 heavy vehicle use tax (https://www.irs.gov/form2290)",
  },
];

/** True when a link to `hostname` (lower-case, as URL.hostname gives it) may go untracked. */
export function isUntrackedHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  return UNTRACKED_HOSTS.some((h) => host === h.host || (h.suffix && host.endsWith(`.${h.host}`)));
}
