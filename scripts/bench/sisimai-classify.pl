#!/usr/bin/env perl
# Sisimai's side of the bounce benchmark (scripts/bench/bounce-classify.bench.ts): reads every
# file named on the command line into memory first (as our side does), then classifies each one
# with Sisimai->make(\$text) per pass, and prints one JSON object: Sisimai's version, how many
# messages gave at least one result and how many results, and the milliseconds of each measured
# pass. Warm-up passes are run first and not reported (Sisimai loads its modules lazily).
#
#   perl scripts/bench/sisimai-classify.pl --passes 5 --warmup 1 FILE...
use strict;
use warnings;
use Getopt::Long qw(GetOptions);
use JSON::PP ();
use Time::HiRes qw(time);
use Sisimai;

my $passes = 5;
my $warmup = 1;
GetOptions('passes=i' => \$passes, 'warmup=i' => \$warmup) or die "usage: $0 [--passes N] [--warmup N] FILE...\n";
die "usage: $0 [--passes N] [--warmup N] FILE...\n" unless @ARGV;

# Bytes as stored, like Sisimai's own Maildir reader (it decodes MIME parts itself).
my @messages;
for my $file (@ARGV) {
    open(my $fh, '<', $file) or die "cannot read $file: $!\n";
    local $/;
    push @messages, scalar <$fh>;
    close $fh;
}

# Sisimai's parsers warn about odd input on STDERR; the numbers are what this script is for.
local $SIG{__WARN__} = sub {};

sub pass {
    my ($classified, $results) = (0, 0);
    for my $text (@messages) {
        my $data = Sisimai->make(\$text);
        next unless $data;
        $classified++;
        $results += scalar @$data;
    }
    return ($classified, $results);
}

pass() for 1 .. $warmup;
my @ms;
my ($classified, $results) = (0, 0);
for (1 .. $passes) {
    my $started = time;
    ($classified, $results) = pass();
    push @ms, (time - $started) * 1000;
}

print JSON::PP->new->canonical->encode({
    sisimai    => Sisimai->version,
    perl       => sprintf('%vd', $^V),
    messages   => scalar @messages,
    classified => $classified,
    results    => $results,
    passes_ms  => \@ms,
}), "\n";
