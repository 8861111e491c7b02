# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module Testing
      # One stubbed run, as a test sees it: the prompt, the Options it was started with (shown only through
      # Options#inspect, which hides keys), and the Messages it yielded so far.
      class AgentRun
        attr_reader :prompt, :options

        def initialize(prompt, options)
          @prompt = prompt
          @options = options
          @messages = []
          @mutex = Mutex.new
        end

        def transport = options.transport

        # A copy: the run may still be going in another thread.
        def messages
          @mutex.synchronize { @messages.dup }
        end

        def <<(message)
          @mutex.synchronize { @messages << message }
          self
        end

        # Every tool_use block of its assistant messages: [{id:, name:, input:}].
        def tool_calls
          @mutex.synchronize { @messages.flat_map(&:tool_calls) }
        end

        def result
          @mutex.synchronize { @messages.reverse_each.find(&:result?) }
        end

        def inspect
          "#<#{self.class.name} transport=#{transport.inspect} prompt=#{prompt.to_s[0, 80].inspect} " \
            "messages=#{messages.size} tool_calls=#{tool_calls.map { |c| c[:name] }.inspect}>"
        end
        alias to_s inspect
      end
    end
  end
end
