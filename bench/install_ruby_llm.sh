#!/bin/sh
# Installs ruby_llm 1.3.1 (the newest release that accepts Ruby 3.1.x; 1.4+ need 3.1.3, 2.x need 3.2) and its
# dependencies into bench/vendor/gems (git-ignored) for bench/api_turn_cpu.rb.
#
# Ruby 3.1.2's parser rejects anonymous block forwarding (`def m(a, k: nil, &) … f(&)`) in three of its files
# ("no anonymous block parameter"; fixed in Ruby 3.1.3). The anonymous `&` in those three files is renamed to
# `&__blk` — the same code, spelled so 3.1.2 can parse it. Nothing else is changed.
set -eu
cd "$(dirname "$0")"
dir=vendor/gems
gem install ruby_llm -v 1.3.1 --install-dir "$dir" --no-document
lib="$dir/gems/ruby_llm-1.3.1/lib/ruby_llm"
for f in "$lib/provider.rb" "$lib/chat.rb" "$lib/active_record/acts_as.rb"; do
  if ! ruby -c "$f" >/dev/null 2>&1; then
    sed -i -E 's/([(, ])&([),]|$)/\1\&__blk\2/g' "$f"
    ruby -c "$f" >/dev/null
    echo "patched for Ruby $(ruby -e 'print RUBY_VERSION'): $f"
  fi
done
