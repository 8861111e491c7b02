# frozen_string_literal: true

require "fileutils"
require "json"

module RubyLLM
  module AgentSDK
    # Where `transport: :api` keeps each session's messages, so `resume: session_id` can continue it.
    #
    # Both stores pass each line through Redaction.text first: an error body or tool output that echoes a key is
    # not written down. A store takes the stream-json line of every message (the same lines the caller gets as Messages) before the
    # next model call, and gives them back in order. Anything with #append(session_id, line) and
    # #lines(session_id) (nil for an unknown session) is a store; two come with the gem.
    module SessionStore
      # Sessions in memory, for tests and short-lived processes.
      class Memory
        def initialize
          @sessions = {}
          @mutex = Mutex.new
        end

        def append(session_id, line)
          line = Redaction.text(line)
          @mutex.synchronize { (@sessions[session_id] ||= []) << line.freeze }
        end

        def lines(session_id)
          @mutex.synchronize { @sessions[session_id]&.dup }
        end
      end

      # One JSONL file per session in a directory (default: ./tmp/agent_sdk/sessions). Lines are appended with
      # O_APPEND and flushed at once, so a crash loses at most the line being written.
      class JSONL
        SAFE_ID = /\A[A-Za-z0-9_-]{1,128}\z/.freeze

        attr_reader :directory

        def initialize(directory = File.join(Dir.pwd, "tmp", "agent_sdk", "sessions"))
          @directory = directory.to_s
          @mutex = Mutex.new
        end

        def append(session_id, line)
          path = path_for(session_id)
          line = Redaction.text(line)
          @mutex.synchronize do
            FileUtils.mkdir_p(@directory)
            File.open(path, File::WRONLY | File::APPEND | File::CREAT, 0o600) { |f| f.write(line.end_with?("\n") ? line : "#{line}\n") }
          end
        end

        def lines(session_id)
          path = path_for(session_id)
          File.exist?(path) ? File.readlines(path, chomp: true).reject(&:empty?) : nil
        end

        private

        def path_for(session_id)
          raise ArgumentError, "invalid session id #{session_id.inspect}" unless session_id.to_s.match?(SAFE_ID)

          File.join(@directory, "#{session_id}.jsonl")
        end
      end

      # Turns stored lines back into Messages-API messages ([{role:, content:}]) for the loop to resend:
      # consecutive user turns are merged, and a tool call left without a result (a run that ended mid-tools)
      # gets an error result, since the API requires one.
      def self.transcript(lines)
        messages = []
        lines.each do |line|
          data = Native.parse_json(line)
          next unless %w[user assistant].include?(data["type"]) && data["message"].is_a?(Hash)

          role = data["type"]
          content = data.dig("message", "content")
          content = [{ "type" => "text", "text" => content }] if content.is_a?(String)
          next unless content.is_a?(Array)

          close_open_calls(messages) if role == "user" && !content.any? { |b| b["type"] == "tool_result" }
          if messages.last && messages.last["role"] == role
            messages.last["content"] += content
          else
            messages << { "role" => role, "content" => content }
          end
        end
        close_open_calls(messages)
        messages
      end

      def self.close_open_calls(messages)
        last = messages.last
        return unless last && last["role"] == "assistant"

        calls = last["content"].select { |b| b["type"] == "tool_use" }
        return if calls.empty?

        messages << { "role" => "user", "content" => calls.map do |c|
          { "type" => "tool_result", "tool_use_id" => c["id"], "content" => "The run ended before this tool returned.", "is_error" => true }
        end }
      end
      private_class_method :close_open_calls
    end
  end
end
