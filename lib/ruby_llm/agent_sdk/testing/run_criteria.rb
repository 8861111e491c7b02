# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module Testing
      # Which stubbed runs count for have_run_agent / assert_agent_run, and the messages that say what was seen.
      # Expected values match with === (a String, a Regexp, an RSpec argument matcher, a Class...). Option values
      # are shown through Redaction.option: a key never reaches a failure message.
      class RunCriteria
        attr_reader :prompt, :options, :count

        def initialize(prompt: nil, options: {}, count: nil)
          unknown = options.keys.map(&:to_sym) - Options::SCHEMA.keys
          unless unknown.empty?
            raise ArgumentError, "unknown option#{"s" if unknown.size > 1} #{unknown.map(&:inspect).join(", ")}"
          end

          @prompt = prompt
          @options = options.transform_keys(&:to_sym)
          @count = count
        end

        def with(prompt: @prompt, options: {}, count: @count)
          self.class.new(prompt: prompt, options: @options.merge(options.transform_keys(&:to_sym)), count: count)
        end

        def matching(runs)
          runs.select do |run|
            (prompt.nil? || prompt === run.prompt) &&
              options.all? { |name, expected| expected === run.options.public_send(name) }
          end
        end

        def satisfied_by?(runs)
          found = matching(runs).size
          count ? found == count : found.positive?
        end

        def description
          text = +"run an agent"
          text << " with a prompt matching #{prompt.inspect}" if prompt
          text << " with options #{options.map { |k, v| "#{k}: #{Redaction.option(k, v)}" }.join(", ")}" unless options.empty?
          text << " #{count} time#{"s" unless count == 1}" if count
          text
        end

        def failure_message(runs)
          "expected the block to #{description}, but #{seen(runs)}"
        end

        def negated_failure_message(runs)
          "expected the block not to #{description}, but #{seen(runs)}"
        end

        private

        def seen(runs)
          return "no stubbed agent run started (install one with stub_agent_stream or stub_agent_run)" if runs.empty?

          shown = options.keys | %i[transport model]
          list = runs.each_with_index.map do |run, i|
            values = shown.map { |name| "#{name}: #{Redaction.option(name, run.options.public_send(name))}" }
            "\n  #{i + 1}. #{Redaction.text(run.prompt.to_s[0, 200]).inspect} (#{values.join(", ")})"
          end
          "#{matching(runs).size} of the #{runs.size} run#{"s" unless runs.size == 1} matched:#{list.join}"
        end
      end
    end
  end
end
