# frozen_string_literal: true

# The gem's own Gemfile (group :rails) is the dummy app's bundle; `gemspec` there puts the gem's lib/ on the load path.
ENV["BUNDLE_GEMFILE"] ||= File.expand_path("../../../Gemfile", __dir__)
require "bundler/setup"
