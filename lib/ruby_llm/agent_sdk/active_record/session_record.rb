# frozen_string_literal: true

require "active_support/concern"

module RubyLLM
  module AgentSDK
    module ActiveRecord
      # The app's AgentSession model (rails g agent_sdk:install):
      #
      #   class AgentSession < ApplicationRecord
      #     include RubyLLM::AgentSDK::ActiveRecord::SessionRecord
      #
      #     belongs_to :user, optional: true
      #     has_many :agent_messages, -> { order(:position) }, dependent: :destroy
      #   end
      #
      # A session is one conversation: `run!` starts it through the app's job, `resume!` continues it, `cancel!` stops
      # it. Status moves pending → running → completed | failed | cancelled (or awaiting_approval, until approve! /
      # reject! decide its paused tool calls); the job changes it only while it holds
      # the session's claim (Claim), and the database, not a process, says who does.
      module SessionRecord
        extend ActiveSupport::Concern

        STATUSES = %w[pending running awaiting_approval completed failed cancelled].freeze
        FINISHED = %w[completed failed cancelled].freeze
        TOTALS = %i[input_tokens output_tokens cache_read_tokens cache_creation_tokens total_cost_usd num_turns].freeze

        included do
          enum :status, STATUSES.index_with(&:itself), default: "pending"

          # The job run!/resume! enqueue, and the belongs_to per-user caps count by (default: :user when present).
          class_attribute :agent_job_class_name, default: "AgentJob"
          class_attribute :agent_owner, default: nil

          scope :recent, -> { order(created_at: :desc).limit(20) }
          scope :active, -> { where(status: %w[pending running]) }
          scope :awaiting_approval, -> { where(status: "awaiting_approval") }
          scope :finished, -> { where(status: FINISHED) }
        end

        class_methods do
          include Claim

          def agent_job_class
            agent_job_class_name.constantize
          end
        end

        # Starts the conversation: the session goes (back) to pending with this prompt and the job is enqueued.
        # Raises SessionStateError while it is running.
        def run!(prompt = self.prompt)
          raise ArgumentError, "run! needs a prompt" if prompt.to_s.strip.empty?

          save! if new_record?
          requeue!(prompt: prompt)
          self.class.agent_job_class.perform_later(id, prompt)
        end

        # Continues the conversation with a new prompt (transport :cli resumes the CLI's session; :api sends the stored
        # transcript again).
        def resume!(prompt)
          raise ArgumentError, "resume! needs a prompt" if prompt.to_s.strip.empty?
          if claude_session_id.blank?
            raise SessionStateError, "session #{id} has no conversation to resume yet: run! it first"
          end

          requeue!
          self.class.agent_job_class.perform_later(id, prompt, resume: true)
        end

        # Seed 003's immediate persist: saves the user's message as a row and broadcasts it, then
        # - the session is not running: it goes (back) to pending and AgentJob.perform_later(id, message_id: row.id)
        #   delivers that row (a failure before any answer removes it and bounces its text back to the input);
        # - it is running: the row is stored pending (decided by the INSERT itself, not a read before it) and the
        #   running job promotes it when its round ends, then answers it.
        # Returns the row (`pending?` tells which).
        def say!(text)
          raise ArgumentError, "say! needs a text" if text.to_s.strip.empty?

          save! if new_record?
          row = Delivery.insert_message(self, text.to_s)
          broadcaster = Broadcaster.new(self)
          if row.pending?
            broadcaster.pending(row)
          else
            broadcaster.message(row)
            begin
              requeue!(prompt.blank? ? { prompt: text.to_s } : {}) # a session started by say! keeps its first message
            rescue SessionStateError
              nil # it started running since: the job finds it busy and leaves the row pending for that run
            end
            self.class.agent_job_class.perform_later(id, nil, resume: true, message_id: row.id)
          end
          row
        end

        # The user messages waiting for the running round to end (seed 003), in the order sent.
        def pending_messages
          agent_messages.where(pending: true).reorder(position: :desc)
        end

        # Approval gates (Tool.requires_approval): the session is awaiting_approval with these calls undecided
        # ([{tool_use_id:, tool_name:, input:}]).
        def pending_approvals
          Approvals.pending(self)
        end

        # Lets a paused tool call run (once, through agent_tool_executions). Once every pending call of the turn is
        # decided the continuation is enqueued. A call decided already, or unknown, raises SessionStateError.
        def approve!(tool_use_id, by: nil)
          Approvals.decide(self, tool_use_id, "approved", by: by)
        end

        # Refuses a paused tool call: the model reads `reason` as the call's is_error tool result.
        def reject!(tool_use_id, reason:, by: nil)
          Approvals.decide(self, tool_use_id, "rejected", reason: reason, by: by)
        end

        # A pending session is cancelled at once (and its status broadcast); a running one is asked to stop, and its
        # job ends it at the next message (status cancelled). Returns the status.
        def cancel!
          now = Time.current
          scope = self.class.unscoped.where(id: id)
          if scope.where(status: %w[pending awaiting_approval]).update_all(status: "cancelled", finished_at: now, updated_at: now) == 1
            reload
            Broadcaster.new(self).status
          else
            scope.where(status: "running", cancel_requested_at: nil).update_all(cancel_requested_at: now, updated_at: now)
            reload
          end
          status
        end

        def cancel_requested?
          self.class.unscoped.where(id: id).where.not(cancel_requested_at: nil).exists?
        end

        # Records that the run failed and why (a result subtype, an exception class) with a message safe to show.
        def fail!(reason, message = nil)
          update!(status: "failed", failure_reason: reason.to_s, finished_at: Time.current,
                  error_message: message && AgentSDK::Redaction.text(message.to_s))
        end

        def latest_content
          agent_messages.where(message_type: "assistant").reorder(position: :desc).pick(:content)
        end

        def totals
          TOTALS.index_with { |name| self[name] }
        end

        def total_tokens
          %i[input_tokens output_tokens cache_read_tokens cache_creation_tokens].sum { |name| self[name].to_i }
        end

        def finished?
          FINISHED.include?(status)
        end

        private

        def requeue!(attributes = {})
          now = Time.current
          # heartbeat_at: when it was handed to a job (RecoveryJob enqueues a pending one whose job never came again)
          changes = attributes.merge(status: "pending", failure_reason: nil, error_message: nil, cancel_requested_at: nil,
                                     finished_at: nil, heartbeat_at: now, updated_at: now)
          updated = self.class.unscoped.where(id: id).where.not(status: %w[running awaiting_approval]).update_all(changes)
          if updated.zero?
            raise SessionStateError, "session #{id} is running or awaiting approval; cancel! it, decide its tool calls " \
                                     "or wait for it to finish"
          end

          changes.each { |name, value| self[name] = value }
          clear_changes_information
          Broadcaster.new(self).status
        end
      end
    end
  end
end
