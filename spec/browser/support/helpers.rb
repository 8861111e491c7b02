# frozen_string_literal: true

require_relative "running_app"

module AgentSDKSpec
  # What the browser specs share: the running app, the support agent's scripted model turns, sessions made and read
  # through the app's console, and a watch on the page's message list.
  module BrowserHelpers
    # A model turn the FakeServer holds until the spec releases it (or `timeout` passes): a run that stays running.
    class HeldTurn
      def initialize(turn, timeout: 120)
        @turn = turn
        @timeout = timeout
        @released = false
        @requested = false
      end

      def call(_request)
        @requested = true
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + @timeout
        sleep 0.05 until @released || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        @turn
      end

      def requested?
        @requested
      end

      def release!
        @released = true
      end
    end

    # Every element added to #agent_messages (at any depth) with an id, in the order the page saw them (a row the
    # agent-session controller moves into its turn's <details> counts once), and a mark a reload would erase.
    WATCH_MESSAGES = <<~JS
      window.agentRowsSeen = [];
      window.agentPageMark = "not reloaded";
      window.agentRowNodes = new WeakSet();
      new MutationObserver(function (records) {
        records.forEach(function (record) {
          record.addedNodes.forEach(function (node) {
            if (node.nodeType !== 1 || !node.matches(".agent-message[id]") || window.agentRowNodes.has(node)) return;
            window.agentRowNodes.add(node);
            window.agentRowsSeen.push(node.id);
          });
        });
      }).observe(document.getElementById("agent_messages"), { childList: true, subtree: true });
    JS

    # The transcript's structure: a message is its id, a <summary> its text, any other element [tag.class, children].
    TRANSCRIPT_SHAPE = <<~JS
      (function shape(element) {
        return Array.from(element.children, function (child) {
          if (child.matches(".agent-message")) return child.id;
          if (child.matches("summary")) return "summary: " + child.textContent;
          return [child.tagName.toLowerCase() + "." + child.className].concat(shape(child));
        });
      })(document.getElementById("agent_messages"))
    JS

    PROMPT = "Customer Ada says order ORD-1042 never arrived. Sort it out."

    def self.included(group)
      group.before do
        app.model.script([])
        app.model.clear_requests
      end
    end

    def app
      AgentSDKSpec::RunningApp.instance
    end

    # bin/demo's support conversation: two tool calls, then the answer (3 turns), each `delay` seconds late.
    def support_turns(delay: 0.3)
      [{ tool_use: { name: "lookup_order", input: { "order_number" => "ORD-1042" } }, delay: delay,
         usage: { input_tokens: 1_350, output_tokens: 45 } },
       { tool_use: { name: "check_shipment_status", input: { "tracking_number" => "1Z999AA10123456784" } }, delay: delay,
         usage: { input_tokens: 1_520, output_tokens: 48 } },
       { text: "Order ORD-1042 was lost in transit; I have told Ada.", delay: delay,
         usage: { input_tokens: 1_690, output_tokens: 31 } }]
    end

    # A session of the signed-in user, not started: its id.
    def create_session(prompt = PROMPT)
      app.console("User.find_by!(name: 'Ada').agent_sessions.create!(prompt: #{prompt.dump}).id")
    end

    # What the scaffold's create does after creating it: the first message, saved and broadcast, and AgentJob enqueued.
    def start_session(id, prompt = PROMPT)
      app.console("AgentSession.find(#{id}).say!(#{prompt.dump}).id")
    end

    def session_row(id)
      app.console("AgentSession.find(#{id}).slice(:status, :num_turns, :total_cost_usd, :cancel_requested_at)" \
                  ".merge('total_cost_usd' => AgentSession.find(#{id}).total_cost_usd&.to_f)")
    end

    def wait_for_status(id, status, timeout: 60)
      browser_page.wait_until("session #{id} #{status} in the database", timeout: timeout) do
        session_row(id)["status"] == status
      end
    end

    # The gap between rendering a session page (at path) and subscribing its stream: its stream source is taken out,
    # the run starts (its first rows and the running status broadcast to no one here), then a new one subscribes
    # (data-attempt: another subscription, not the old one's). The page must catch up without a reload, and the rest
    # of the run arrive live: every row once, in order.
    def expect_catch_up_after_gap(path, id, held)
      browser_page.visit(app.url(path))
      browser_page.wait_for("turbo-cable-stream-source[connected]")
      settle_catch_up(1) # the page's own catch-up once subscribed (nothing yet) is over
      watch_messages
      unsubscribe_page
      start_session(id)
      browser_page.wait_until("the model asked") { held.requested? }
      gap = row_ids(id)
      expect(gap).not_to be_empty
      expect(page_row_ids).to be_empty
      resubscribe_page
      browser_page.wait_until("the rows written in the gap") { page_row_ids == gap }
      browser_page.wait_for("#{badge(id)}.agent-status--running")

      held.release! # the rest arrives live through the new subscription
      browser_page.wait_for("#{badge(id)}.agent-status--completed", timeout: 60)
      rows = row_ids(id)
      browser_page.wait_until("every row on the page") { page_row_ids == rows }
      expect(browser_page.evaluate("window.agentRowsSeen")).to eq(rows) # each once
    end

    def page_row_ids = browser_page.attributes("#agent_messages .agent-message", "id")

    # The session's rows as the database has them: their dom ids in position order.
    def row_ids(id)
      app.console("AgentSession.find(#{id}).agent_messages.map { |row| ActionView::RecordIdentifier.dom_id(row) }")
    end

    def watch_messages
      browser_page.execute(WATCH_MESSAGES)
    end

    def transcript_shape
      browser_page.evaluate(TRANSCRIPT_SHAPE)
    end

    # Until `count` catch-up requests have been answered (resource timing keeps them) and two frames have passed (a
    # Turbo Stream renders on the next one).
    def settle_catch_up(count)
      browser_page.wait_until("#{count} catch-up requests answered") do
        browser_page.evaluate("performance.getEntriesByType('resource').filter(e => e.initiatorType === 'fetch').length") >= count
      end
      browser_page.execute("window.agentSettled = false; " \
                           "requestAnimationFrame(() => requestAnimationFrame(() => { window.agentSettled = true }))")
      browser_page.wait_until("two frames") { browser_page.evaluate("window.agentSettled") }
    end

    # The gap between rendering a page and its stream subscribing: the page's stream source taken out (it
    # unsubscribes), then a copy put back (data-attempt: another subscription, not the old one's) that subscribes.
    def unsubscribe_page
      browser_page.execute("window.agentStream = document.querySelector('turbo-cable-stream-source'); " \
                           "window.agentStreamParent = agentStream.parentNode; agentStream.remove()")
    end

    def resubscribe_page
      browser_page.execute(<<~JS)
        const source = agentStream.cloneNode();
        source.removeAttribute("connected");
        source.dataset.attempt = "2";
        agentStreamParent.prepend(source);
      JS
    end

    def badge(id)
      "#status_agent_session_#{id}"
    end
  end
end

RSpec.configure { |config| config.include AgentSDKSpec::BrowserHelpers, :browser } if defined?(RSpec)
