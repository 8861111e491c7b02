# frozen_string_literal: true

# The gem's own Gemfile (group :rails) is the dummy app's bundle; `gemspec` there puts the gem's lib/ on the load path.
ENV["BUNDLE_GEMFILE"] ||= File.expand_path("../../../Gemfile", __dir__)
require "bundler/setup"
# Last, so the gem's lib/ wins: test-only stand-ins for files of the gem that have not landed yet.
$LOAD_PATH.push(File.expand_path("../../support/stubs", __dir__))
