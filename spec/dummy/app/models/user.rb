# frozen_string_literal: true

class User < ApplicationRecord
  has_many :agent_sessions, dependent: :destroy
end
