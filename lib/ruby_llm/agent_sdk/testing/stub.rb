# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    module Testing
      # What a stubbed run yields: the same lines every run, or lines built for each run from its prompt and options
      # (stub_agent_run builds them for the run's transport). Installed with Testing.install, it stands in for
      # every transport until uninstalled (see Testing.stubbed_transport).
      #
      # A line is a stream-json String, a Hash (generated as JSON), a Message (its raw line), or an Exception,
      # raised at that point of the stream (a CLI that dies: ProcessError.new(...); an API failure: TransientError).
      class Stub
        def initialize(lines = nil, &script)
          raise ArgumentError, "a Stub takes lines or a block, not both" if lines && script

          @lines = lines&.map { |item| self.class.line(item) }.freeze
          @script = script
        end

        # The transport for one run (what Query#each drives in place of a CLI or an APITransport).
        def open(prompt, options)
          lines = @lines || @script.call(prompt, options).map { |item| self.class.line(item) }
          StubbedTransport.new(prompt, options, lines)
        end

        def self.line(item)
          case item
          when String, Exception then item
          when Hash then JSON.generate(item)
          when Message then item.raw
          else raise ArgumentError, "a stubbed line is a JSON String, a Hash, a Message or an Exception, not #{item.class}"
          end
        end
      end
    end
  end
end
