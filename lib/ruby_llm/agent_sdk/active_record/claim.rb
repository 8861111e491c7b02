# frozen_string_literal: true

require "zlib"

module RubyLLM
  module AgentSDK
    module ActiveRecord
      # Exactly one worker runs a session at a time, across processes and machines: a worker takes a session with one
      # conditional UPDATE (status pending or failed, no claim, and under the running caps) and gives it back with
      # another that only matches its own token. Nothing is read first and decided in Ruby.
      #
      # The caps count running sessions in the same statement. Under PostgreSQL's READ COMMITTED two claims of
      # different rows could both see the count below the cap, so there each claim first takes a transaction-scoped
      # advisory lock (claims are short, so they queue for microseconds); SQLite runs one writer at a time anyway.
      module Claim
        CLAIMABLE = %w[pending failed].freeze

        # :claimed, :over_cap (try again later), :busy (another worker has it), :finished (completed or cancelled:
        # run! / resume! first) or :missing.
        def claim(id, token:, per_user: nil, global: nil, now: Time.current)
          claimed = with_claim_lock(per_user || global) do
            scope = unscoped.where(id: id, status: CLAIMABLE, claimed_by: nil)
            scope = scope.where(cap_condition(nil, global)) if global
            owner = agent_owner_key
            owner_id = owner && per_user && unscoped.where(id: id).pick(owner) # never changes: not the contended state
            scope = scope.where(cap_condition(owner, per_user, owner_id)) if owner_id
            scope.update_all(status: "running", claimed_by: token, claimed_at: now, heartbeat_at: now, started_at: now,
                             finished_at: nil, cancel_requested_at: nil, failure_reason: nil, error_message: nil,
                             updated_at: now) == 1
          end
          return :claimed if claimed

          status, by = unscoped.where(id: id).pick(:status, :claimed_by)
          if status.nil? then :missing
          elsif by || status == "running" then :busy
          elsif CLAIMABLE.include?(status) then :over_cap
          else :finished
          end
        end

        # Gives the session back with its final attributes; false when the claim was no longer this token's.
        # The cancel flag goes with the claim: whatever ended the run, a later run does not start cancelled.
        def release(id, token:, attributes:, now: Time.current)
          released = { claimed_by: nil, claimed_at: nil, cancel_requested_at: nil, finished_at: now, updated_at: now }
          unscoped.where(id: id, claimed_by: token).update_all(attributes.merge(released)) == 1
        end

        # Renews the claim's heartbeat; false when it is no longer this token's (the worker must stop).
        def heartbeat(id, token:, now: Time.current)
          unscoped.where(id: id, claimed_by: token).update_all(heartbeat_at: now) == 1
        end

        # Running sessions whose heartbeat is older than `stale_before` (or missing): [[id, claimed_by], …], oldest
        # first. Only a candidate list: take_over decides.
        def stale(stale_before:, limit: 500)
          unscoped.where(status: "running").where(stale_condition(stale_before))
                  .order(:heartbeat_at, :id).limit(limit).pluck(:id, :claimed_by)
        end

        # Takes a stale running session over from the claim `token` it was read with, in one conditional UPDATE
        # (still running, still that token's, its heartbeat still older than `stale_before`), which leaves it:
        # - pending with no claim and recoveries + 1 (:recovered: the caller enqueues its job), or
        # - failed with failure_reason "abandoned" once it has been recovered max_recoveries times (:abandoned), or
        # - cancelled when cancel! had asked its dead worker to stop (:cancelled).
        # nil when it is not stale any more: its worker heartbeated or finished, or another recoverer was first.
        def take_over(id, token:, stale_before:, max_recoveries:, now: Time.current)
          scope = unscoped.where(id: id, status: "running", claimed_by: token).where(stale_condition(stale_before))
          released = { claimed_by: nil, claimed_at: nil, updated_at: now }
          asked = scope.where.not(cancel_requested_at: nil)
          return :cancelled if asked.update_all(released.merge(status: "cancelled", finished_at: now)) == 1

          scope = scope.where(cancel_requested_at: nil)
          recovered = scope.where(recoveries: ...max_recoveries)
                           .update_all(released.merge(status: "pending", recoveries: Arel.sql("recoveries + 1"),
                                                      heartbeat_at: now, failure_reason: nil, error_message: nil,
                                                      finished_at: nil))
          return :recovered if recovered == 1

          message = "its worker stopped heartbeating #{max_recoveries + 1} times (recovered #{max_recoveries})"
          abandoned = scope.where(recoveries: max_recoveries..)
                           .update_all(released.merge(status: "failed", failure_reason: "abandoned",
                                                      error_message: message, finished_at: now))
          :abandoned if abandoned == 1
        end

        # Pending sessions handed to a job (run!, resume!, take_over set heartbeat_at then) before `stale_before`
        # and not claimed since: their job may have died with a worker before the claim (the backend took it, the
        # worker was killed). A session created and never run! has no heartbeat_at and is never one of them.
        def stale_pending(stale_before:, limit: 500)
          unscoped.where(status: "pending").where(arel_table[:heartbeat_at].lt(stale_before))
                  .order(:heartbeat_at, :id).limit(limit).pluck(:id)
        end

        # Renews such a pending session's heartbeat_at in one conditional UPDATE; true for the one caller that should
        # enqueue its job again (once per recovery_after however many recoverers run). A job that was only waiting in
        # a long queue finds the session claimed or finished when it comes: the claim keeps the extra one harmless.
        def requeue_stale(id, stale_before:, now: Time.current)
          unscoped.where(id: id, status: "pending").where(arel_table[:heartbeat_at].lt(stale_before))
                  .update_all(heartbeat_at: now, updated_at: now) == 1
        end

        # The belongs_to whose foreign key per-user caps count by: agent_owner, else :user when there is one.
        def agent_owner_key
          name = agent_owner || (:user if reflect_on_association(:user))
          name && reflect_on_association(name)&.foreign_key
        end

        private

        # "(SELECT COUNT(*) FROM (SELECT 1 FROM agent_sessions WHERE status = 'running' [AND user_id = ?]) r) < cap".
        # The derived table keeps MySQL from refusing a subquery on the table being updated.
        def cap_condition(owner_key, cap, owner_id = nil)
          running = unscoped.where(status: "running")
          running = running.where(owner_key => owner_id) if owner_key
          ["(SELECT COUNT(*) FROM (#{running.select('1').to_sql}) agent_sdk_running) < ?", cap]
        end

        def stale_condition(stale_before)
          table = arel_table
          table[:heartbeat_at].lt(stale_before).or(table[:heartbeat_at].eq(nil))
        end

        def claim_connection = respond_to?(:lease_connection) ? lease_connection : connection

        def with_claim_lock(locked)
          return yield unless locked && claim_connection.adapter_name.match?(/postg/i)

          transaction do
            key = Zlib.crc32("agent_sdk:claim:#{table_name}")
            claim_connection.execute("SELECT pg_advisory_xact_lock(#{key})") # returns void: nothing to cast
            yield
          end
        end
      end
    end
  end
end
