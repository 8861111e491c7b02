# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # Sends a session's changes to the pages that show it, after they are committed:
    #
    # - each persisted message is appended to the session's stream (target "agent_messages", config.message_partial,
    #   locals message: the Message, agent_message: the row, session:);
    # - the status badge (target dom_id(session, :status), config.status_partial) is replaced on each status change;
    # - text deltas (include_partial_messages: true) update target dom_id(session, :delta) at most once per
    #   config.delta_interval (0.1 s): about 10 broadcasts a second a session however fast the model streams.
    #
    # - seed 003 (ActiveRecord::Delivery): a message sent while the session runs is appended to
    #   dom_id(session, :pending_messages) (`pending`); when promoted it moves to "agent_messages" (`promoted`); a
    #   bounced one is removed and its text sent back to dom_id(session, :input) with the custom action `agent_bounce`
    #   (`bounce`), and an authentication failure sends `authentication_required` to the same target.
    #
    # With turbo-rails these are Turbo Stream actions on `turbo_stream_from session`; without it, JSON payloads
    # through ActionCable.server.broadcast on "agent_sdk:<session gid>". A broadcast that fails is logged and the run
    # goes on: a page that misses an update reloads from the rows.
    class Broadcaster
      def self.stream_name(session)
        "agent_sdk:#{session.to_gid_param}"
      end

      def initialize(session, config: AgentSDK.config, clock: -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) })
        @session = session
        @config = config
        @clock = clock
        @delta = +""
        @delta_sent_at = nil
      end

      def message(row)
        return unless row

        @delta.clear
        @delta_sent_at = nil
        message = row.to_message
        deliver(:message) do
          if turbo?
            locals = { message: message, agent_message: row, session: @session }
            ::Turbo::StreamsChannel.broadcast_append_to(@session, target: "agent_messages", partial: @config.message_partial,
                                                                  locals: locals)
          else
            cable(type: "message", id: row.id, position: row.position, message_type: row.message_type,
                  subtype: row.subtype, content: row.content, tool_calls: row.tool_calls)
          end
        end
      end

      def status
        deliver(:status) do
          if turbo?
            ::Turbo::StreamsChannel.broadcast_replace_to(@session, target: dom_id(:status), partial: @config.status_partial,
                                                                   locals: { session: @session })
          else
            cable(type: "status", status: @session.status, failure_reason: @session.failure_reason)
          end
        end
      end

      # A user message saved while the session runs, shown apart until it is promoted.
      def pending(row)
        deliver(:pending) do
          if turbo?
            ::Turbo::StreamsChannel.broadcast_append_to(@session, target: dom_id(:pending_messages),
                                                                  partial: @config.message_partial,
                                                                  locals: message_locals(row))
          else
            cable(type: "pending", id: row.id, content: row.content)
          end
        end
      end

      # A pending message that became the next prompt: out of the pending list, onto the end of the transcript.
      def promoted(row)
        deliver(:promoted) do
          if turbo?
            ::Turbo::StreamsChannel.broadcast_remove_to(@session, target: ::ActionView::RecordIdentifier.dom_id(row))
            ::Turbo::StreamsChannel.broadcast_append_to(@session, target: "agent_messages", partial: @config.message_partial,
                                                                  locals: message_locals(row))
          else
            cable(type: "promoted", id: row.id, position: row.position, content: row.content)
          end
        end
      end

      # The rows of a round that failed before any answer are gone: their text goes back to the input field,
      # `<turbo-stream action="agent_bounce" target="<dom_id(session, :input)>"><template>text</template>`.
      def bounce(rows, text)
        deliver(:bounce) do
          if turbo?
            rows.each do |row|
              ::Turbo::StreamsChannel.broadcast_remove_to(@session, target: ::ActionView::RecordIdentifier.dom_id(row))
            end
            ::Turbo::StreamsChannel.broadcast_action_to(@session, action: :agent_bounce, target: dom_id(:input),
                                                                  html: ERB::Util.html_escape(text))
          else
            cable(type: "bounce", ids: rows.map(&:id), text: text)
          end
        end
      end

      # The API refused the key: the page asks for one (action `authentication_required`, the scrubbed error as text).
      def authentication_required(message = nil)
        deliver(:authentication_required) do
          if turbo?
            ::Turbo::StreamsChannel.broadcast_action_to(@session, action: :authentication_required, target: dom_id(:input),
                                                                  html: ERB::Util.html_escape(message.to_s))
          else
            cable(type: "authentication_required", message: message)
          end
        end
      end

      # A stream_event Message: its text joins the pending delta, sent when the interval has passed.
      # Approval gates: the calls a paused session waits on ([{tool_use_id:, tool_name:, input:}]). With Turbo, one
      # element per call appended to dom_id(session, :approvals), with Approve / Reject buttons that carry the
      # tool_use_id (data-agent-approval) for the app's controller to call session.approve! / reject!; without, one
      # cable message {type: "approval", tool_use_id:, tool_name:, input:} per call.
      def approvals(calls)
        deliver(:approvals) do
          calls.each do |call|
            if turbo?
              ::Turbo::StreamsChannel.broadcast_append_to(@session, target: dom_id(:approvals), html: approval_html(call))
            else
              cable(type: "approval", tool_use_id: call[:tool_use_id], tool_name: call[:tool_name], input: call[:input])
            end
          end
        end
      end

      def delta(message)
        text = message.content
        return if text.nil? || text.empty?

        @delta << text
        now = @clock.call
        return if @delta_sent_at && now - @delta_sent_at < @config.delta_interval

        @delta_sent_at = now
        text = @delta.dup
        deliver(:delta) do
          if turbo?
            ::Turbo::StreamsChannel.broadcast_update_to(@session, target: dom_id(:delta), html: ERB::Util.html_escape(text))
          else
            cable(type: "delta", text: text)
          end
        end
      end

      private

      def approval_html(call)
        id = ERB::Util.html_escape(call[:tool_use_id].to_s)
        name = ERB::Util.html_escape(call[:tool_name].to_s)
        input = ERB::Util.html_escape(JSON.generate(call[:input]))
        %(<div id="agent_approval_#{id}" class="agent-approval" data-agent-approval="#{id}">) +
          %(<span class="agent-approval-tool">#{name}</span> <code>#{input}</code> ) +
          %(<button type="button" data-agent-approval="#{id}" data-decision="approve">Approve</button> ) +
          %(<button type="button" data-agent-approval="#{id}" data-decision="reject">Reject</button></div>)
      end

      def message_locals(row)
        { message: row.to_message, agent_message: row, session: @session }
      end

      def turbo?
        defined?(::Turbo::StreamsChannel)
      end

      def cable(payload)
        return unless defined?(::ActionCable)

        ::ActionCable.server.broadcast(self.class.stream_name(@session), payload.merge(session_id: @session.id))
      end

      def dom_id(prefix)
        ::ActionView::RecordIdentifier.dom_id(@session, prefix)
      end

      def deliver(what)
        yield
      rescue StandardError => e
        AgentSDK.logger.error(Redaction.text("agent_sdk: #{what} broadcast for session #{@session.id} failed " \
                                             "(the run goes on): #{e.class}: #{e.message}"))
        nil
      end
    end
  end
end
